//! `cmsgpack`: lua-cmsgpack 0.4.0's MessagePack encoding as Redis ships it.
//!
//! Encoding (`pack(...)`, one value per argument, concatenated): integral numbers that fit an
//! `int64_t` use the smallest integer form; other numbers are float32 when that loses nothing,
//! else float64; strings use fixstr/str8/16/32; tables whose keys are exactly `1..n` are arrays
//! (so the empty table is an empty array), all others maps in `next` order; tables nested 16
//! deep, and values msgpack cannot carry (functions, userdata, `cjson.null`), become nil.
//!
//! Decoding (`unpack`, `unpack_one`, `unpack_limit`) reads the same forms back (no bin or ext
//! types: "Bad data format in input.") and raises what the C code raises, including its stack
//! limits, counted as the C code would use the Lua stack (see [`Unpacker::used`]).
//!
//! Deliberate difference: output over [`MAX_OUTPUT`] bytes is "not enough memory" where the C
//! code would try to allocate it.

use mlua::{Lua, Table, Value};

use super::{
    add_function, c_double_to_i32, c_double_to_i64, number_value, Args, Failure, LibResult, Nest,
    Reply, C_STACK_SLOTS, MAX_OUTPUT,
};

/// Tables nested deeper than this are encoded as nil (`LUACMSGPACK_MAX_NESTING`), which is
/// also what keeps self-referencing tables from looping.
const MAX_NESTING: usize = 16;

/// Builds the `cmsgpack` table, with the metadata fields lua-cmsgpack sets.
pub(crate) fn module(lua: &Lua) -> mlua::Result<Table> {
    let t = lua.create_table()?;
    add_function(lua, &t, "pack", |lua, args| pack(lua, &args))?;
    // `unpack` keeps all its arguments on the stack; the others drop all but the string.
    add_function(lua, &t, "unpack", |lua, args| {
        unpack_full(lua, &args, 0, 0, args.len())
    })?;
    add_function(lua, &t, "unpack_one", |lua, args| {
        let offset = args.opt_integer(2, 0)?;
        unpack_full(lua, &args, 1, offset, 1)
    })?;
    add_function(lua, &t, "unpack_limit", |lua, args| {
        let limit = args.check_integer(2)?;
        let offset = args.opt_integer(3, 0)?;
        unpack_full(lua, &args, limit, offset, 1)
    })?;
    t.raw_set("_NAME", "cmsgpack")?;
    t.raw_set("_VERSION", "lua-cmsgpack 0.4.0")?;
    t.raw_set("_COPYRIGHT", "Copyright (C) 2012, Salvatore Sanfilippo")?;
    t.raw_set("_DESCRIPTION", "MessagePack C implementation for Lua")?;
    Ok(t)
}

/// `cmsgpack.pack(...)`.
fn pack(lua: &Lua, args: &Args) -> LibResult<Reply> {
    let nargs = args.len();
    if nargs == 0 {
        return Err(Failure::arg(0, "MessagePack pack needs input."));
    }
    // The C code asks for `nargs` more stack slots on top of its `nargs` arguments.
    if 2 * nargs > C_STACK_SLOTS {
        return Err(Failure::arg(0, "Too many arguments for MessagePack pack."));
    }
    let mut packer = Packer { out: Vec::new() };
    for i in 1..=nargs {
        let value = args.get(i)?.unwrap_or(Value::Nil);
        // Arguments, the encodings of earlier ones, and this argument's copy.
        packer.value(&value, 0, nargs + i)?;
    }
    Reply::one(Value::String(lua.create_string(&packer.out)?))
}

/// Accumulates the encoding. `used` is how many Lua stack slots the C code would occupy while
/// encoding the value (it counts the value itself).
struct Packer {
    out: Vec<u8>,
}

impl Packer {
    fn value(&mut self, v: &Value, level: usize, used: usize) -> LibResult<()> {
        match v {
            Value::String(s) => {
                let bytes = s.as_bytes();
                if self.out.len() + bytes.len() > MAX_OUTPUT {
                    return Err(Failure::out_of_memory());
                }
                self.string(&bytes);
            }
            Value::Boolean(b) => self.out.push(if *b { 0xc3 } else { 0xc2 }),
            Value::Integer(_) | Value::Number(_) => self.number(number_value(v).unwrap_or(0.0)),
            Value::Table(t) if level < MAX_NESTING => self.table(t, level, used)?,
            _ => self.out.push(0xc0),
        }
        if self.out.len() > MAX_OUTPUT {
            return Err(Failure::out_of_memory());
        }
        Ok(())
    }

    /// Integers when the number survives a round trip through `int64_t` (so not 2^63, NaN or
    /// infinities), floats otherwise.
    fn number(&mut self, n: f64) {
        let i = c_double_to_i64(n);
        if !n.is_infinite() && i as f64 == n {
            self.integer(i);
        } else if n == f64::from(n as f32) {
            self.out.push(0xca);
            self.out.extend_from_slice(&(n as f32).to_be_bytes());
        } else {
            self.out.push(0xcb);
            self.out.extend_from_slice(&n.to_be_bytes());
        }
    }

    /// The smallest form; non-negative values always use the unsigned forms.
    fn integer(&mut self, n: i64) {
        let out = &mut self.out;
        if n >= 0 {
            match n {
                0..=0x7f => out.push(n as u8),
                0x80..=0xff => out.extend_from_slice(&[0xcc, n as u8]),
                0x100..=0xffff => {
                    out.push(0xcd);
                    out.extend_from_slice(&(n as u16).to_be_bytes());
                }
                0x1_0000..=0xffff_ffff => {
                    out.push(0xce);
                    out.extend_from_slice(&(n as u32).to_be_bytes());
                }
                _ => {
                    out.push(0xcf);
                    out.extend_from_slice(&(n as u64).to_be_bytes());
                }
            }
        } else if n >= -32 {
            out.push(n as i8 as u8);
        } else if n >= -128 {
            out.extend_from_slice(&[0xd0, n as i8 as u8]);
        } else if n >= -32768 {
            out.push(0xd1);
            out.extend_from_slice(&(n as i16).to_be_bytes());
        } else if n >= -2_147_483_648 {
            out.push(0xd2);
            out.extend_from_slice(&(n as i32).to_be_bytes());
        } else {
            out.push(0xd3);
            out.extend_from_slice(&n.to_be_bytes());
        }
    }

    fn string(&mut self, s: &[u8]) {
        let len = s.len();
        self.header(len, 0xa0, 31, [0xd9, 0xda, 0xdb]);
        self.out.extend_from_slice(s);
    }

    /// A length header: the fix form `fix | len` up to `fix_max`, then the 8 (when the type
    /// has one), 16 and 32-bit forms. Lengths past 32 bits are truncated, as in the C code.
    fn header(&mut self, len: usize, fix: u8, fix_max: usize, codes: [u8; 3]) {
        let out = &mut self.out;
        if len <= fix_max {
            out.push(fix | len as u8);
        } else if len <= 0xff && codes[0] != 0 {
            out.extend_from_slice(&[codes[0], len as u8]);
        } else if len <= 0xffff {
            out.push(codes[1]);
            out.extend_from_slice(&(len as u16).to_be_bytes());
        } else {
            out.push(codes[2]);
            out.extend_from_slice(&(len as u32).to_be_bytes());
        }
    }

    /// The C code checks for 2 free slots before looking at the table (which also covers the
    /// 1 an array needs) and for 3 before writing a map.
    fn table(&mut self, t: &Table, level: usize, used: usize) -> LibResult<()> {
        if used + 2 > C_STACK_SLOTS {
            return Err(Failure::stack_overflow("in function table_is_an_array"));
        }
        match array_length(t)? {
            Some(len) => {
                self.header(len, 0x90, 15, [0, 0xdc, 0xdd]);
                for j in 1..=len {
                    let v: Value = t.raw_get(j)?;
                    self.value(&v, level + 1, used + 1)?;
                }
            }
            None => {
                if used + 3 > C_STACK_SLOTS {
                    return Err(Failure::stack_overflow(
                        "in function mp_encode_lua_table_as_map",
                    ));
                }
                let mut len = 0usize;
                for pair in t.pairs::<Value, Value>() {
                    pair?;
                    len += 1;
                }
                self.header(len, 0x80, 15, [0, 0xde, 0xdf]);
                for pair in t.pairs::<Value, Value>() {
                    let (k, v) = pair?;
                    self.value(&k, level + 1, used + 3)?;
                    self.value(&v, level + 1, used + 2)?;
                }
            }
        }
        Ok(())
    }
}

/// `Some(n)` when the keys are exactly `1..=n` (n may be 0), judged as the C code does: every
/// key a positive number that survives a round trip through `int`, and as many keys as the
/// largest one.
fn array_length(t: &Table) -> LibResult<Option<usize>> {
    let (mut count, mut max) = (0i32, 0i32);
    for pair in t.pairs::<Value, Value>() {
        let (k, _) = pair?;
        let Some(n) = number_value(&k) else {
            return Ok(None);
        };
        let i = c_double_to_i32(n);
        if n <= 0.0 || n.is_infinite() || f64::from(i) != n {
            return Ok(None);
        }
        max = max.max(i);
        count = count.wrapping_add(1);
    }
    Ok((max == count).then_some(count as usize))
}

/// The three unpack entry points. `limit == 0 && offset == 0` means "everything, no offset
/// returned" (so `unpack_limit(s, 0)` behaves like `unpack(s)`).
///
/// `initial_slots` is how many stack slots the C function holds before decoding.
fn unpack_full(
    lua: &Lua,
    args: &Args,
    limit: i64,
    offset: i64,
    initial_slots: usize,
) -> LibResult<Reply> {
    let s = args.check_string(1)?;
    let data = s.as_bytes();
    let len = data.len();
    let decode_all = limit == 0 && offset == 0;
    // The C messages print 64-bit values with `%d` (so their low 32 bits), and the input
    // length where they mean the limit.
    if offset < 0 || limit < 0 {
        return Err(Failure::error(format!(
            "Invalid request to unpack with offset of {} and limit of {}.",
            offset as i32, len as i32
        )));
    }
    if offset as u64 > len as u64 {
        return Err(Failure::error(format!(
            "Start offset {} greater than input length {}.",
            offset as i32, len as i32
        )));
    }
    let limit = if decode_all {
        i64::from(i32::MAX)
    } else {
        limit
    };
    let results = lua.create_table()?;
    let first = if decode_all { 1 } else { 2 }; // the offset goes first
    let mut unpacker = Unpacker {
        lua,
        data: &data,
        pos: offset as usize,
        used: initial_slots,
    };
    let mut count = 0usize;
    while unpacker.pos < len && (count as i64) < limit {
        let value = unpacker.value()?;
        results.raw_set(first + count, value)?;
        count += 1;
        unpacker.used += 1;
    }
    if decode_all {
        return Ok(Reply::Spread {
            table: results,
            len: count,
        });
    }
    if unpacker.used + 1 > C_STACK_SLOTS {
        return Err(Failure::stack_overflow("in function mp_unpack_full"));
    }
    let next = if unpacker.pos == len {
        -1
    } else {
        unpacker.pos as i32
    };
    results.raw_set(1, next)?;
    Ok(Reply::Spread {
        table: results,
        len: count + 1,
    })
}

/// One open array or map while decoding (its table and pending key live in a [`Nest`]).
enum Open {
    Array { remaining: u64, index: i64 },
    Map { remaining: u64, has_key: bool },
}

/// Decodes values from `data[pos..]` without recursion.
struct Unpacker<'a> {
    lua: &'a Lua,
    data: &'a [u8],
    pos: usize,
    /// Lua stack slots the C decoder would occupy, not counting the value being decoded: the
    /// input string, values already returned, and per open array its table and index, per
    /// open map its table and (while decoding a value) its key.
    used: usize,
}

/// The byte counts of the size fields following array/map/string type bytes.
fn be_length(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0, |acc, &b| (acc << 8) | u64::from(b))
}

impl<'a> Unpacker<'a> {
    fn missing() -> Failure {
        Failure::error("Missing bytes in input.")
    }

    /// The `n` bytes at the current position, consumed.
    fn take(&mut self, n: u64) -> LibResult<&'a [u8]> {
        let start = self.pos;
        let end = usize::try_from(n).ok().and_then(|n| start.checked_add(n));
        let data: &'a [u8] = self.data;
        let bytes = end
            .and_then(|end| data.get(start..end))
            .ok_or_else(Self::missing)?;
        self.pos += bytes.len();
        Ok(bytes)
    }

    /// One complete value (with everything nested in it).
    fn value(&mut self) -> LibResult<Value> {
        let mut nest: Nest<Open> = Nest::new(self.lua);
        loop {
            let mut value = match self.item()? {
                Item::Value(v) => v,
                Item::Array(len) => {
                    let table = self.open_table(len)?;
                    self.used += 1;
                    if self.used + 1 > C_STACK_SLOTS {
                        return Err(Failure::stack_overflow(
                            "in function mp_decode_to_lua_array",
                        ));
                    }
                    if len == 0 {
                        self.used = self.used.saturating_sub(1);
                        Value::Table(table)
                    } else {
                        nest.push(
                            table,
                            Open::Array {
                                remaining: len,
                                index: 1,
                            },
                        )?;
                        self.used += 1; // the index
                        continue;
                    }
                }
                Item::Map(len) => {
                    let table = self.open_table(len)?;
                    if len == 0 {
                        Value::Table(table)
                    } else {
                        self.used += 1;
                        nest.push(
                            table,
                            Open::Map {
                                remaining: len,
                                has_key: false,
                            },
                        )?;
                        continue;
                    }
                }
            };
            // Store the finished value in its container; finished containers are values too.
            loop {
                let Some((table, key, open)) = nest.top_mut() else {
                    return Ok(value);
                };
                match open {
                    Open::Array { remaining, index } => {
                        table.raw_set(*index, value)?;
                        *index += 1;
                        *remaining -= 1;
                        self.used = self.used.saturating_sub(1); // the index
                        if *remaining > 0 {
                            self.used += 1;
                            break;
                        }
                    }
                    Open::Map {
                        has_key: has_key @ false,
                        ..
                    } => {
                        *key = value;
                        *has_key = true;
                        self.used += 1; // the key
                        break;
                    }
                    Open::Map { remaining, has_key } => {
                        let k = std::mem::take(key);
                        check_key(&k)?;
                        table.raw_set(k, value)?;
                        *has_key = false;
                        *remaining -= 1;
                        self.used = self.used.saturating_sub(1); // the key
                        if *remaining > 0 {
                            break;
                        }
                    }
                }
                let Some((table, _)) = nest.pop()? else {
                    return Ok(Value::Nil);
                };
                self.used = self.used.saturating_sub(1); // the finished table is now the value
                value = Value::Table(table);
            }
        }
    }

    /// A table for a container of `len` declared items; the size hint is capped by the input
    /// left, so a lying header cannot make us allocate.
    fn open_table(&self, len: u64) -> LibResult<Table> {
        let left = (self.data.len() - self.pos) as u64;
        let hint = len.min(left).min(1 << 16) as usize;
        Ok(self.lua.create_table_with_capacity(hint, 0)?)
    }

    /// Reads one type byte and what it carries, except the items of arrays and maps.
    fn item(&mut self) -> LibResult<Item> {
        let byte = *self.data.get(self.pos).ok_or_else(Self::missing)?;
        if self.used + 1 > C_STACK_SLOTS {
            return Err(Failure::stack_overflow(
                "too many return values at once; use unpack_one or unpack_limit instead.",
            ));
        }
        // Check the whole item is there before consuming its type byte, as the C code does.
        let number = |v: f64| Ok(Item::Value(Value::Number(v)));
        match byte {
            0xc0 => self.skip(Item::Value(Value::Nil)),
            0xc2 => self.skip(Item::Value(Value::Boolean(false))),
            0xc3 => self.skip(Item::Value(Value::Boolean(true))),
            0xcc => number(self.fixed::<1>()?[0] as f64),
            0xcd => number(u16::from_be_bytes(self.fixed()?) as f64),
            0xce => number(u32::from_be_bytes(self.fixed()?) as f64),
            // lua-cmsgpack pushes uint64 through a signed `lua_Integer` under Lua 5.1.
            0xcf => number(u64::from_be_bytes(self.fixed()?) as i64 as f64),
            0xd0 => number(self.fixed::<1>()?[0] as i8 as f64),
            0xd1 => number(i16::from_be_bytes(self.fixed()?) as f64),
            0xd2 => number(i32::from_be_bytes(self.fixed()?) as f64),
            0xd3 => number(i64::from_be_bytes(self.fixed()?) as f64),
            0xca => number(f64::from(f32::from_be_bytes(self.fixed()?))),
            0xcb => number(f64::from_be_bytes(self.fixed()?)),
            0xd9 => self.string(1),
            0xda => self.string(2),
            0xdb => self.string(4),
            0xdc => Ok(Item::Array(self.length(2)?)),
            0xdd => Ok(Item::Array(self.length(4)?)),
            0xde => Ok(Item::Map(self.length(2)?)),
            0xdf => Ok(Item::Map(self.length(4)?)),
            _ if byte & 0x80 == 0 => self.skip(Item::Value(Value::Number(f64::from(byte)))),
            _ if byte & 0xe0 == 0xe0 => {
                self.skip(Item::Value(Value::Number(f64::from(byte as i8))))
            }
            _ if byte & 0xe0 == 0xa0 => {
                let s = self.take(1 + u64::from(byte & 0x1f))?;
                Ok(Item::Value(Value::String(self.lua.create_string(&s[1..])?)))
            }
            _ if byte & 0xf0 == 0x90 => self.skip(Item::Array(u64::from(byte & 0x0f))),
            _ if byte & 0xf0 == 0x80 => self.skip(Item::Map(u64::from(byte & 0x0f))),
            _ => Err(Failure::error("Bad data format in input.")),
        }
    }

    /// Consumes the type byte of a one-byte item.
    fn skip(&mut self, item: Item) -> LibResult<Item> {
        self.pos += 1;
        Ok(item)
    }

    /// The `N` bytes after the type byte; both consumed.
    fn fixed<const N: usize>(&mut self) -> LibResult<[u8; N]> {
        let bytes = self.take(1 + N as u64)?;
        <[u8; N]>::try_from(&bytes[1..]).map_err(|_| Self::missing())
    }

    /// A big-endian length of `width` bytes after the type byte; both consumed.
    fn length(&mut self, width: u64) -> LibResult<u64> {
        let bytes = self.take(1 + width)?;
        Ok(be_length(&bytes[1..]))
    }

    fn string(&mut self, width: u64) -> LibResult<Item> {
        let len = self.length(width)?;
        let s = self.take(len)?;
        Ok(Item::Value(Value::String(self.lua.create_string(s)?)))
    }
}

/// What a type byte introduced.
enum Item {
    Value(Value),
    Array(u64),
    Map(u64),
}

/// `lua_settable` refuses nil and NaN keys with the VM's own (position-less) errors.
fn check_key(key: &Value) -> LibResult<()> {
    match key {
        Value::Nil => Err(Failure::Bare(b"table index is nil".to_vec())),
        Value::Number(n) if n.is_nan() => Err(Failure::Bare(b"table index is NaN".to_vec())),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::super::testing::{check_cases, run};

    #[test]
    fn random_bytes_never_panic() {
        let mut seed: u64 = 0x2545_f491_4f6c_dd1d;
        let mut next = move || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        // Biased toward container and length bytes, which reach the interesting paths.
        let favourites = [
            0x91u8, 0x81, 0xdc, 0xdd, 0xde, 0xdf, 0xd9, 0xda, 0xdb, 0xc0, 0x00, 0xff,
        ];
        for _ in 0..400 {
            let bytes: String = (0..(next() % 40))
                .map(|_| {
                    let r = next();
                    let b = if r % 3 == 0 {
                        favourites[(r as usize / 3) % favourites.len()]
                    } else {
                        r as u8
                    };
                    format!("\\{b}")
                })
                .collect();
            let out = run(&format!(
                r#"local ok = pcall(cmsgpack.unpack, "{bytes}")
                   local ok2 = pcall(cmsgpack.unpack_one, "{bytes}", 1)
                   local ok3 = pcall(cmsgpack.unpack_limit, "{bytes}", 2, 3)
                   return type(ok), type(ok2), type(ok3)"#
            ));
            assert_eq!(
                out, r#"4:true "boolean" "boolean" "boolean""#,
                "input {bytes}"
            );
        }
    }

    #[test]
    fn round_trip_of_deep_and_wide_values() {
        let out = run("local t = {} for i = 1, 20000 do t[i] = 'v' .. i end \
             local u = cmsgpack.unpack(cmsgpack.pack(t)) \
             local m = {} for i = 1, 5000 do m['k' .. i] = {i} end \
             local v = cmsgpack.unpack(cmsgpack.pack(m)) \
             return #u, u[20000], v.k4999[1]");
        assert_eq!(out, r#"4:true 20000 "v20000" 4999"#);
    }

    // Cases recorded from Redis 7.0.15: each snippet ran through EVAL as
    // `dumpall(pcall(function() <snippet> end))`; the second string is Redis's answer.
    // BEGIN REDIS CASES
    #[test]
    fn packs_integers_in_smallest_form() {
        check_cases(&[
            (
                r#"return cmsgpack.pack(0), cmsgpack.pack(1), cmsgpack.pack(127), cmsgpack.pack(128), cmsgpack.pack(255), cmsgpack.pack(256), cmsgpack.pack(65535), cmsgpack.pack(65536)"#,
                r#"9:true "\000" "\001" "\127" "\204\128" "\204\255" "\205\001\000" "\205\255\255" "\206\000\001\000\000""#,
            ),
            (
                r#"return cmsgpack.pack(2^32 - 1), cmsgpack.pack(2^32), cmsgpack.pack(2^53), cmsgpack.pack(2^63 - 2^10), cmsgpack.pack(2^63), cmsgpack.pack(2^64)"#,
                r#"7:true "\206\255\255\255\255" "\207\000\000\000\001\000\000\000\000" "\207\000 \000\000\000\000\000\000" "\207\127\255\255\255\255\255\252\000" "\202_\000\000\000" "\202_\128\000\000""#,
            ),
            (
                r#"return cmsgpack.pack(-1), cmsgpack.pack(-32), cmsgpack.pack(-33), cmsgpack.pack(-128), cmsgpack.pack(-129), cmsgpack.pack(-32768), cmsgpack.pack(-32769)"#,
                r#"8:true "\255" "\224" "\208\223" "\208\128" "\209\255\127" "\209\128\000" "\210\255\255\127\255""#,
            ),
            (
                r#"return cmsgpack.pack(-2^31), cmsgpack.pack(-2^31 - 1), cmsgpack.pack(-2^63), cmsgpack.pack(-2^63 - 2^11), cmsgpack.pack(-0.0)"#,
                r#"6:true "\210\128\000\000\000" "\211\255\255\255\255\127\255\255\255" "\211\128\000\000\000\000\000\000\000" "\203\195\224\000\000\000\000\000\001" "\000""#,
            ),
        ]);
    }

    #[test]
    fn packs_floats_and_other_scalars() {
        check_cases(&[
            (
                r#"return cmsgpack.pack(0.5), cmsgpack.pack(1.5), cmsgpack.pack(0.1), cmsgpack.pack(-2.25), cmsgpack.pack(1e300), cmsgpack.pack(3.4028234663852886e38), cmsgpack.pack(1e-45)"#,
                r#"8:true "\202?\000\000\000" "\202?\192\000\000" "\203?\185\153\153\153\153\153\154" "\202\192\016\000\000" "\203~7\228<\136\000u\156" "\202\127\127\255\255" "\2036\150\214\001\1737j\185""#,
            ),
            (
                r#"return cmsgpack.pack(1/0), cmsgpack.pack(-1/0), cmsgpack.pack(0/0)"#,
                r#"4:true "\202\127\128\000\000" "\202\255\128\000\000" "\203\255\248\000\000\000\000\000\000""#,
            ),
            (
                r#"return cmsgpack.pack(true), cmsgpack.pack(false), cmsgpack.pack(nil), cmsgpack.pack(cjson.null), cmsgpack.pack(function() end), cmsgpack.pack(coroutine.create(function() end))"#,
                r#"7:true "\195" "\194" "\192" "\192" "\192" "\192""#,
            ),
        ]);
    }

    #[test]
    fn packs_strings() {
        check_cases(&[
            (
                r#"return cmsgpack.pack(""), cmsgpack.pack("a"), cmsgpack.pack(string.rep("x", 31)), cmsgpack.pack(string.rep("x", 32)):sub(1, 3), #cmsgpack.pack(string.rep("x", 255)), cmsgpack.pack(string.rep("x", 256)):sub(1, 4)"#,
                r#"7:true "\160" "\161a" "\191xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx" "\217 x" 257 "\218\001\000x""#,
            ),
            (
                r#"return cmsgpack.pack(string.rep("x", 65535)):sub(1, 4), cmsgpack.pack(string.rep("x", 65536)):sub(1, 6), cmsgpack.pack("a\0b\255")"#,
                r#"4:true "\218\255\255x" "\219\000\001\000\000x" "\164a\000b\255""#,
            ),
        ]);
    }

    #[test]
    fn packs_tables_as_arrays_or_maps() {
        check_cases(&[
            (
                r#"return cmsgpack.pack({}), cmsgpack.pack({1, 2, 3}), cmsgpack.pack({a = 1}), cmsgpack.pack({[1] = 1, [3] = 3}), cmsgpack.pack({[2] = 2}), cmsgpack.pack({1, 2, x = 3})"#,
                r#"7:true "\144" "\147\001\002\003" "\129\161a\001" "\130\001\001\003\003" "\129\002\002" "\131\001\001\002\002\161x\003""#,
            ),
            (
                r#"return cmsgpack.pack({[0] = 1}), cmsgpack.pack({[-1] = 1}), cmsgpack.pack({[1.5] = 1}), cmsgpack.pack({[true] = false}), cmsgpack.pack({[2^40] = 1})"#,
                r#"6:true "\129\000\001" "\129\255\001" "\129\202?\192\000\000\001" "\129\195\194" "\129\207\000\000\001\000\000\000\000\000\001""#,
            ),
            (
                r#"return cmsgpack.pack({1, nil, 3}), cmsgpack.pack({nil, nil, 3}), cmsgpack.pack({n = cjson.null})"#,
                r#"4:true "\130\001\001\003\003" "\129\003\003" "\129\161n\192""#,
            ),
            (
                r#"local t = {} for i = 1, 15 do t[i] = i end local u = {} for i = 1, 16 do u[i] = i end return cmsgpack.pack(t):sub(1, 2), cmsgpack.pack(u):sub(1, 4)"#,
                r#"3:true "\159\001" "\220\000\016\001""#,
            ),
            (
                r#"local t = {} for i = 1, 65536 do t[i] = 0 end return cmsgpack.pack(t):sub(1, 6), #cmsgpack.pack(t)"#,
                r#"3:true "\221\000\001\000\000\000" 65541"#,
            ),
            (
                r#"local t = {} for i = 1, 16 do t["k" .. i] = i end local s = cmsgpack.pack(t) return s:sub(1, 3), #s"#,
                r#"3:true "\222\000\016" 74"#,
            ),
            (
                r#"return cmsgpack.pack(1, "a", {2}, nil, true)"#,
                r#"2:true "\001\161a\145\002\192\195""#,
            ),
            (r#"return cmsgpack.pack(nil)"#, r#"2:true "\192""#),
            (
                r#"return cmsgpack.pack({a = {b = {c = {1, 2, {d = "e"}}}}})"#,
                r#"2:true "\129\161a\129\161b\129\161c\147\001\002\129\161d\161e""#,
            ),
            (
                r#"return cmsgpack.pack("1"), cmsgpack.pack({"1"}), cmsgpack.pack({["1"] = 1})"#,
                r#"4:true "\1611" "\145\1611" "\129\1611\001""#,
            ),
            (
                r#"return cmsgpack.pack({[1] = 1, [2] = 2, [4] = 4, [3] = 3})"#,
                r#"2:true "\148\001\002\003\004""#,
            ),
            (
                r#"return cmsgpack.pack({[1] = 1, [1.5] = 2})"#,
                r#"2:true "\130\001\001\202?\192\000\000\002""#,
            ),
            (
                r#"return cmsgpack.pack({[2^31] = 1})"#,
                r#"2:true "\129\206\128\000\000\000\001""#,
            ),
            (
                r#"return cmsgpack.pack({[2^31 - 1] = 1})"#,
                r#"2:true "\129\206\127\255\255\255\001""#,
            ),
        ]);
    }

    #[test]
    fn nesting_limit_and_cycles() {
        check_cases(&[
            (
                r#"local t = {} local c = t for i = 2, 20 do local x = {} c[1] = x c = x end return cmsgpack.pack(t)"#,
                r#"2:true "\145\145\145\145\145\145\145\145\145\145\145\145\145\145\145\145\192""#,
            ),
            (
                r#"local t = {} local c = t for i = 2, 20 do local x = {} c.a = x c = x end return cmsgpack.pack(t)"#,
                r#"2:true "\129\161a\129\161a\129\161a\129\161a\129\161a\129\161a\129\161a\129\161a\129\161a\129\161a\129\161a\129\161a\129\161a\129\161a\129\161a\129\161a\192""#,
            ),
            (
                r#"local t = {} t[1] = t return cmsgpack.pack(t)"#,
                r#"2:true "\145\145\145\145\145\145\145\145\145\145\145\145\145\145\145\145\192""#,
            ),
            (
                r#"local t = {} t.self = t return #cmsgpack.pack(t)"#,
                r#"2:true 97"#,
            ),
        ]);
    }

    #[test]
    fn pack_errors() {
        check_cases(&[
            (
                r#"return cmsgpack.pack()"#,
                r#"2:false "user_script:25: bad argument #0 to 'pack' (MessagePack pack needs input.)""#,
            ),
            (
                r#"local ok, e = pcall(cmsgpack.pack) return e"#,
                r#"2:true "bad argument #0 to '?' (MessagePack pack needs input.)""#,
            ),
        ]);
    }

    #[test]
    fn unpacks_scalars() {
        check_cases(&[
            (r#"return cmsgpack.unpack("\1\2\3")"#, r#"4:true 1 2 3"#),
            (r#"return cmsgpack.unpack("")"#, r#"1:true"#),
            (
                r#"return cmsgpack.unpack("\192"), cmsgpack.unpack("\194"), cmsgpack.unpack("\195"), cmsgpack.unpack("\127"), cmsgpack.unpack("\224"), cmsgpack.unpack("\255")"#,
                r#"7:true nil false true 127 -32 -1"#,
            ),
            (
                r#"return cmsgpack.unpack("\204\200"), cmsgpack.unpack("\208\200"), cmsgpack.unpack("\205\1\2"), cmsgpack.unpack("\209\255\254"), cmsgpack.unpack("\206\255\255\255\255"), cmsgpack.unpack("\210\128\0\0\0")"#,
                r#"7:true 200 -56 258 -2 4294967295 -2147483648"#,
            ),
            (
                r#"return cmsgpack.unpack("\207\255\255\255\255\255\255\255\255"), cmsgpack.unpack("\211\128\0\0\0\0\0\0\0"), cmsgpack.unpack("\211\255\255\255\255\255\255\255\255"), cmsgpack.unpack("\207\0\32\0\0\0\0\0\1")"#,
                r#"5:true -1 -9.2233720368547758e+18 -1 9007199254740992"#,
            ),
            (
                r#"return cmsgpack.unpack("\202\63\192\0\0"), cmsgpack.unpack("\202\127\192\0\0"), cmsgpack.unpack("\202\255\128\0\0"), cmsgpack.unpack("\203\63\185\153\153\153\153\153\154"), cmsgpack.unpack("\203\255\248\0\0\0\0\0\0")"#,
                r#"6:true 1.5 nan -inf 0.10000000000000001 -nan"#,
            ),
            (
                r#"return cmsgpack.unpack("\160"), cmsgpack.unpack("\163abc"), cmsgpack.unpack("\217\3abc"), cmsgpack.unpack("\218\0\3abc"), cmsgpack.unpack("\219\0\0\0\3abc"), cmsgpack.unpack("\217\0")"#,
                r#"7:true "" "abc" "abc" "abc" "abc" """#,
            ),
            (
                r#"return cmsgpack._NAME, cmsgpack._VERSION, cmsgpack._COPYRIGHT, cmsgpack._DESCRIPTION"#,
                r#"5:true "cmsgpack" "lua-cmsgpack 0.4.0" "Copyright (C) 2012, Salvatore Sanfilippo" "MessagePack C implementation for Lua""#,
            ),
        ]);
    }

    #[test]
    fn unpacks_containers() {
        check_cases(&[
            (
                r#"return cmsgpack.unpack(cmsgpack.pack({a = {b = {c = {1, 2, {d = "e"}}}}}))"#,
                r#"2:true {["a"]={["b"]={["c"]={[1]=1,[2]=2,[3]={["d"]="e"}}}}}"#,
            ),
            (
                r#"return cmsgpack.unpack("\144"), cmsgpack.unpack("\146\1\2"), cmsgpack.unpack("\220\0\2\1\2"), cmsgpack.unpack("\221\0\0\0\2\1\2"), cmsgpack.unpack("\128"), cmsgpack.unpack("\129\161a\1"), cmsgpack.unpack("\222\0\1\1\2"), cmsgpack.unpack("\223\0\0\0\1\1\2")"#,
                r#"9:true {} {[1]=1,[2]=2} {[1]=1,[2]=2} {[1]=1,[2]=2} {} {["a"]=1} {[1]=2} {[1]=2}"#,
            ),
            (
                r#"return cmsgpack.unpack("\147\192\1\192")"#,
                r#"2:true {[2]=1}"#,
            ),
            (
                r#"return cmsgpack.unpack("\130\1\192\2\3")"#,
                r#"2:true {[2]=3}"#,
            ),
            (
                r#"return cmsgpack.unpack("\129\145\1\2")"#,
                r#"2:true {[{[1]=1}]=2}"#,
            ),
            (
                r#"local s = string.rep("\145", 100) .. "\1" local t = cmsgpack.unpack(s) local d = 0 while type(t) == "table" do t = t[1] d = d + 1 end return d, t"#,
                r#"3:true 100 1"#,
            ),
        ]);
    }

    #[test]
    fn unpack_errors() {
        check_cases(&[
            (
                r#"return cmsgpack.unpack("\129\192\1")"#,
                r#"2:false "table index is nil""#,
            ),
            (
                r#"return cmsgpack.unpack("\129\203\255\248\0\0\0\0\0\0\1")"#,
                r#"2:false "table index is NaN""#,
            ),
            (
                r#"return cmsgpack.unpack("\129\1")"#,
                r#"2:false "user_script:25: Missing bytes in input.""#,
            ),
            (
                r#"return cmsgpack.unpack("\196\1a")"#,
                r#"2:false "user_script:25: Bad data format in input.""#,
            ),
            (
                r#"return cmsgpack.unpack("\193")"#,
                r#"2:false "user_script:25: Bad data format in input.""#,
            ),
            (
                r#"return cmsgpack.unpack("\199\1\1a")"#,
                r#"2:false "user_script:25: Bad data format in input.""#,
            ),
            (
                r#"return cmsgpack.unpack("\212\1\1")"#,
                r#"2:false "user_script:25: Bad data format in input.""#,
            ),
            (
                r#"return cmsgpack.unpack("\1\193\2")"#,
                r#"2:false "user_script:25: Bad data format in input.""#,
            ),
            (
                r#"return cmsgpack.unpack("\145\193")"#,
                r#"2:false "user_script:25: Bad data format in input.""#,
            ),
            (
                r#"return cmsgpack.unpack("\217")"#,
                r#"2:false "user_script:25: Missing bytes in input.""#,
            ),
            (
                r#"return cmsgpack.unpack("\217\5ab")"#,
                r#"2:false "user_script:25: Missing bytes in input.""#,
            ),
            (
                r#"return cmsgpack.unpack("\219\255\255\255\255ab")"#,
                r#"2:false "user_script:25: Missing bytes in input.""#,
            ),
            (
                r#"return cmsgpack.unpack("\221\255\255\255\255\1")"#,
                r#"2:false "user_script:25: Missing bytes in input.""#,
            ),
            (
                r#"return cmsgpack.unpack("\223\255\255\255\255\1\2")"#,
                r#"2:false "user_script:25: Missing bytes in input.""#,
            ),
            (
                r#"return cmsgpack.unpack("\205\1")"#,
                r#"2:false "user_script:25: Missing bytes in input.""#,
            ),
            (
                r#"return cmsgpack.unpack("\203\1\2\3")"#,
                r#"2:false "user_script:25: Missing bytes in input.""#,
            ),
            (
                r#"return cmsgpack.unpack("\147\1\2")"#,
                r#"2:false "user_script:25: Missing bytes in input.""#,
            ),
            (
                r#"return cmsgpack.unpack()"#,
                r#"2:false "user_script:25: bad argument #1 to 'unpack' (string expected, got no value)""#,
            ),
            (
                r#"return cmsgpack.unpack(nil)"#,
                r#"2:false "user_script:25: bad argument #1 to 'unpack' (string expected, got nil)""#,
            ),
            (
                r#"return cmsgpack.unpack({})"#,
                r#"2:false "user_script:25: bad argument #1 to 'unpack' (string expected, got table)""#,
            ),
            (r#"return cmsgpack.unpack(5)"#, r#"2:true 53"#),
            (
                r#"return cmsgpack.unpack("\147\1\2", 1, 2, 3)"#,
                r#"2:false "user_script:25: Missing bytes in input.""#,
            ),
            (
                r#"local ok, e = pcall(cmsgpack.unpack, "\193") return e"#,
                r#"2:true "Bad data format in input.""#,
            ),
        ]);
    }

    #[test]
    fn unpack_one_and_limit() {
        check_cases(&[
            (r#"return cmsgpack.unpack_one("\1\2\3")"#, r#"3:true 1 1"#),
            (
                r#"return cmsgpack.unpack_one("\1\2\3", 1)"#,
                r#"3:true 2 2"#,
            ),
            (
                r#"return cmsgpack.unpack_one("\1\2\3", 2)"#,
                r#"3:true -1 3"#,
            ),
            (r#"return cmsgpack.unpack_one("\1\2\3", 3)"#, r#"2:true -1"#),
            (
                r#"return cmsgpack.unpack_one("\1\2", -1)"#,
                r#"2:false "user_script:25: Invalid request to unpack with offset of -1 and limit of 2.""#,
            ),
            (
                r#"return cmsgpack.unpack_one("\1\2", 5)"#,
                r#"2:false "user_script:25: Start offset 5 greater than input length 2.""#,
            ),
            (r#"return cmsgpack.unpack_one("")"#, r#"2:true -1"#),
            (r#"return cmsgpack.unpack_one("", 0)"#, r#"2:true -1"#),
            (
                r#"return cmsgpack.unpack_one("\1", "x")"#,
                r#"2:false "user_script:25: bad argument #2 to 'unpack_one' (number expected, got string)""#,
            ),
            (r#"return cmsgpack.unpack_one("\1", "0")"#, r#"3:true -1 1"#),
            (
                r#"return cmsgpack.unpack_one("\1\2", 1.9)"#,
                r#"3:true -1 2"#,
            ),
            (
                r#"return cmsgpack.unpack_one("\1\2", 2^32)"#,
                r#"2:false "user_script:25: Start offset 0 greater than input length 2.""#,
            ),
            (
                r#"return cmsgpack.unpack_one("\145")"#,
                r#"2:false "user_script:25: Missing bytes in input.""#,
            ),
            (
                r#"return cmsgpack.unpack_limit("\1\2\3", 2)"#,
                r#"4:true 2 1 2"#,
            ),
            (
                r#"return cmsgpack.unpack_limit("\1\2\3", 2, 1)"#,
                r#"4:true -1 2 3"#,
            ),
            (
                r#"return cmsgpack.unpack_limit("\1\2\3", 5, 0)"#,
                r#"5:true -1 1 2 3"#,
            ),
            (
                r#"return cmsgpack.unpack_limit("\1\2\3", 0)"#,
                r#"4:true 1 2 3"#,
            ),
            (
                r#"return cmsgpack.unpack_limit("\1\2\3", 0, 1)"#,
                r#"2:true 1"#,
            ),
            (
                r#"return cmsgpack.unpack_limit("\1\2\3", -1)"#,
                r#"2:false "user_script:25: Invalid request to unpack with offset of 0 and limit of 3.""#,
            ),
            (
                r#"return cmsgpack.unpack_limit("\1\2\3")"#,
                r#"2:false "user_script:25: bad argument #2 to 'unpack_limit' (number expected, got no value)""#,
            ),
            (
                r#"return cmsgpack.unpack_limit("\1\2\3", nil)"#,
                r#"2:false "user_script:25: bad argument #2 to 'unpack_limit' (number expected, got nil)""#,
            ),
            (
                r#"return cmsgpack.unpack_limit("\1\2\3", 1, 4)"#,
                r#"2:false "user_script:25: Start offset 4 greater than input length 3.""#,
            ),
            (
                r#"return cmsgpack.unpack_limit("\1\2\3", 1, 3)"#,
                r#"2:true -1"#,
            ),
            (
                r#"return cmsgpack.unpack_limit("\1\2\3", 1, -2)"#,
                r#"2:false "user_script:25: Invalid request to unpack with offset of -2 and limit of 3.""#,
            ),
            (
                r#"return cmsgpack.unpack_limit("\1\2\3", 2^32)"#,
                r#"5:true -1 1 2 3"#,
            ),
            (
                r#"return cmsgpack.unpack_limit("\1\2", 1, 2^32 + 1)"#,
                r#"2:false "user_script:25: Start offset 1 greater than input length 2.""#,
            ),
            (
                r#"return cmsgpack.unpack_one("\1\2", -2^32)"#,
                r#"2:false "user_script:25: Invalid request to unpack with offset of 0 and limit of 2.""#,
            ),
            (
                r#"return cmsgpack.unpack_one("\1\2", -2^32 - 1)"#,
                r#"2:false "user_script:25: Invalid request to unpack with offset of -1 and limit of 2.""#,
            ),
            (
                r#"return cmsgpack.unpack_limit("\1\2\3", 2^31)"#,
                r#"5:true -1 1 2 3"#,
            ),
            (
                r#"return cmsgpack.unpack_limit("\1\2\3", -2^32 + 1)"#,
                r#"2:false "user_script:25: Invalid request to unpack with offset of 0 and limit of 3.""#,
            ),
            (
                r#"return cmsgpack.unpack_one("\1\2", 1/0)"#,
                r#"2:false "user_script:25: Invalid request to unpack with offset of 0 and limit of 2.""#,
            ),
            (
                r#"return cmsgpack.unpack_one("\1\2", 0/0)"#,
                r#"2:false "user_script:25: Invalid request to unpack with offset of 0 and limit of 2.""#,
            ),
        ]);
    }

    #[test]
    fn round_trips() {
        check_cases(&[
            (
                r#"return cmsgpack.unpack(cmsgpack.pack(1, 2.5, "s", {1, {2}}, {k = "v"}, true, false))"#,
                r#"8:true 1 2.5 "s" {[1]=1,[2]={[1]=2}} {["k"]="v"} true false"#,
            ),
            (
                r#"return cmsgpack.unpack(cmsgpack.pack(-1, -100, -40000, -3000000000, 5000000000, 2^60))"#,
                r#"7:true -1 -100 -40000 -3000000000 5000000000 1.152921504606847e+18"#,
            ),
            (
                r#"return cmsgpack.unpack(cmsgpack.pack(0.1, 1e300, -1e-300, 1/0))"#,
                r#"5:true 0.10000000000000001 1.0000000000000001e+300 -1e-300 inf"#,
            ),
            (
                r#"return cmsgpack.unpack(cmsgpack.pack({[1] = "a", [2] = "b", [10] = "c"}))"#,
                r#"2:true {[10]="c",[1]="a",[2]="b"}"#,
            ),
            (
                r##"local s = "" for i = 1, 100 do s = s .. cmsgpack.pack(i) end return select("#", cmsgpack.unpack(s))"##,
                r#"2:true 100"#,
            ),
        ]);
    }

    #[test]
    fn stack_limits() {
        check_cases(&[
            (
                r#"local r = {} for _, n in ipairs({7997,7998,7999}) do local ok, e = pcall(function() return select('#', cmsgpack.unpack(string.rep('\1', n))) end) r[#r+1] = n..'='..tostring(e) end return table.concat(r, ' ')"#,
                r#"2:true "7997=7997 7998=7998 7999=7999""#,
            ),
            (
                r#"local r = {} for _, n in ipairs({3995,3996,3997,3998,3999,4000}) do local ok, e = pcall(function() return cmsgpack.unpack(string.rep('\145', n)..'\1') end) r[#r+1] = n..'='..tostring(ok)..tostring(ok or e) end return table.concat(r, ' ')"#,
                r#"2:true "3995=truetrue 3996=truetrue 3997=truetrue 3998=truetrue 3999=truetrue 4000=falseuser_script:25: stack overflow (in function mp_decode_to_lua_array)""#,
            ),
            (
                r#"local r = {} for _, n in ipairs({2664,2665,2666,2667,2668}) do local ok, e = pcall(function() return cmsgpack.unpack(string.rep('\129\1', n)..'\1') end) r[#r+1] = n..'='..tostring(ok)..tostring(ok or e) end return table.concat(r, ' ')"#,
                r#"2:true "2664=truetrue 2665=truetrue 2666=truetrue 2667=truetrue 2668=truetrue""#,
            ),
            (
                r#"local t = {} local c = t for i=2,20 do local x = {} c[1] = x c = x end return cmsgpack.pack(t)"#,
                r#"2:true "\145\145\145\145\145\145\145\145\145\145\145\145\145\145\145\145\192""#,
            ),
            (
                r#"local r = {} for _, n in ipairs({3998,3999,4000,4001}) do local ok, e = pcall(function() return cmsgpack.unpack(string.rep('\129\1', n)..'\1') end) r[#r+1] = n..'='..tostring(ok)..tostring(ok or e) end return table.concat(r, ' ')"#,
                r#"2:true "3998=truetrue 3999=truetrue 4000=falseuser_script:25: stack overflow (too many return values at once; use unpack_one or unpack_limit instead.) 4001=falseuser_script:25: stack overflow (too many return values at once; use unpack_one or unpack_limit instead.)""#,
            ),
            (
                r#"local r = {} for _, n in ipairs({7998,7999,8000}) do local ok, e = pcall(function() return select('#', cmsgpack.unpack_limit(string.rep('\1', n), n, 0)) end) r[#r+1] = n..'='..tostring(e) end return table.concat(r, ' ')"#,
                r#"2:true "7998=7999 7999=user_script:25: stack overflow (in function mp_unpack_full) 8000=user_script:25: stack overflow (too many return values at once; use unpack_one or unpack_limit instead.)""#,
            ),
            (
                r#"local r = {} for _, n in ipairs({7998,7999,8000}) do local ok, e = pcall(function() return select('#', cmsgpack.unpack_limit(string.rep('\1', n+1), n, 0)) end) r[#r+1] = n..'='..tostring(e) end return table.concat(r, ' ')"#,
                r#"2:true "7998=7999 7999=user_script:25: stack overflow (in function mp_unpack_full) 8000=user_script:25: stack overflow (too many return values at once; use unpack_one or unpack_limit instead.)""#,
            ),
            (
                r#"local t = {} for i = 1, 4000 do t[i] = i end local ok, e = pcall(cmsgpack.pack, unpack(t)) return ok, #tostring(e)"#,
                r#"3:true true 11618"#,
            ),
            (
                r#"local t = {} for i = 1, 4001 do t[i] = i end return pcall(cmsgpack.pack, unpack(t))"#,
                r#"3:true false "bad argument #0 to '?' (Too many arguments for MessagePack pack.)""#,
            ),
            (
                r#"local t = {} for i = 1, 3999 do t[i] = i end t[4000] = {1} return pcall(cmsgpack.pack, unpack(t))"#,
                r#"3:true false "stack overflow (in function table_is_an_array)""#,
            ),
            (
                r#"local t = {} for i = 1, 3999 do t[i] = i end t[4000] = {a=1} return pcall(cmsgpack.pack, unpack(t))"#,
                r#"3:true false "stack overflow (in function table_is_an_array)""#,
            ),
            (
                r#"local t = {} for i = 1, 3997 do t[i] = i end t[3998] = {a=1} local ok, e = pcall(cmsgpack.pack, unpack(t)) return ok, #tostring(e)"#,
                r#"3:true true 11613"#,
            ),
            (
                r#"local t = {} for i = 1, 3996 do t[i] = i end t[3997] = {a=1} local ok, e = pcall(cmsgpack.pack, unpack(t)) return ok, #tostring(e)"#,
                r#"3:true true 11610"#,
            ),
            (
                r#"local t = {} for i = 1, 3998 do t[i] = i end t[3999] = {{1}} local ok, e = pcall(cmsgpack.pack, unpack(t)) return ok, #tostring(e)"#,
                r#"3:true false 46"#,
            ),
            (
                r#"return cmsgpack.unpack("\147\1\2", 1, 2, 3)"#,
                r#"2:false "user_script:25: Missing bytes in input.""#,
            ),
        ]);
    }

    #[test]
    fn differential_random_values() {
        check_cases(&[
            (
                r#"local seed = 2 local function rnd(n) seed = (seed * 1103515245 + 12345) % 2147483648 return math.floor(seed / 65536) % n end local function gen(d) local k = rnd(9) if k == 0 then return rnd(1000) - 500 elseif k == 1 then return (rnd(100000) - 50000) / (rnd(999) + 1) * 10 ^ (rnd(40) - 20) elseif k == 2 then local t = {} for i = 1, rnd(12) do t[i] = string.char(rnd(256)) end return table.concat(t) elseif k == 3 then return rnd(2) == 1 elseif k == 4 and d < 5 then local t = {} for i = 1, rnd(6) do t[i] = gen(d + 1) end return t elseif k == 5 and d < 5 then local t = {} for i = 1, rnd(6) do t["k" .. rnd(50)] = gen(d + 1) end return t elseif k == 6 then return 2 ^ rnd(70) * (rnd(2) == 1 and -1 or 1) elseif k == 7 then return cjson.null else return "" end end local out = {} for i = 1, 12 do local v = gen(0) local p = cmsgpack.pack(v) out[#out + 1] = dumpv(p, 0) .. "=" .. dumpall(cmsgpack.unpack(p)) end return table.concat(out, "|")"#,
                r#"2:true "\034\092160\034=1:\034\034|\034\092163\092229g\092161\034=1:\034\092229g\092161\034|\034\092211\092255\092255\092255\092240\092000\092000\092000\092000\034=1:-68719476736|\034\092207\092000\092000\092000\092004\092000\092000\092000\092000\034=1:17179869184|\034\092209\092255y\034=1:-135|\034\092195\034=1:true|\034\092195\034=1:true|\034\092160\034=1:\034\034|\034\092192\034=1:nil|\034\092160\034=1:\034\034|\034\092167H\092218H\092128\092206b\092031\034=1:\034H\092218H\092128\092206b\092031\034|\034\092145\092166\092139\092175]\092155\092192\092014\034=1:{[1]=\034\092139\092175]\092155\092192\092014\034}""#,
            ),
            (
                r#"local seed = 100 + 2 local function rnd(n) seed = (seed * 1103515245 + 12345) % 2147483648 return math.floor(seed / 65536) % n end local function gen(d) local k = rnd(9) if k == 0 then return rnd(1000) - 500 elseif k == 1 then return (rnd(100000) - 50000) / (rnd(999) + 1) * 10 ^ (rnd(40) - 20) elseif k == 2 then local t = {} for i = 1, rnd(12) do t[i] = string.char(rnd(256)) end return table.concat(t) elseif k == 3 then return rnd(2) == 1 elseif k == 4 and d < 5 then local t = {} for i = 1, rnd(6) do t[i] = gen(d + 1) end return t elseif k == 5 and d < 5 then local t = {} for i = 1, rnd(6) do t["k" .. rnd(50)] = gen(d + 1) end return t elseif k == 6 then return 2 ^ rnd(70) * (rnd(2) == 1 and -1 or 1) elseif k == 7 then return cjson.null else return "" end end local function h(s, x) for i = 1, #s do x = (x * 31 + s:byte(i)) % 2147483647 end return x end local out = {} for i = 1, 1500 do local v = gen(0) local p = cmsgpack.pack(v) out[#out + 1] = dumpv(p, 0) .. "=" .. dumpall(cmsgpack.unpack(p)) end local s = table.concat(out, "|") return #out, #s, h(s, 7)"#,
                r#"4:true 1500 87136 2042711466"#,
            ),
        ]);
    }

    #[test]
    fn differential_random_inputs() {
        check_cases(&[
            (
                r#"local seed = 6 local function rnd(n) seed = (seed * 1103515245 + 12345) % 2147483648 return math.floor(seed / 65536) % n end local fav = {145, 129, 220, 221, 222, 223, 217, 218, 219, 192, 0, 255, 202, 203, 204, 207, 211, 160, 161, 147} local out = {} for i = 1, 12 do local t = {} for j = 1, rnd(20) do local r = rnd(3) if r == 0 then t[j] = string.char(fav[rnd(#fav) + 1]) else t[j] = string.char(rnd(256)) end end local s = table.concat(t) out[i] = dumpall(pcall(cmsgpack.unpack, s)) .. dumpall(pcall(cmsgpack.unpack_one, s, rnd(4))) .. dumpall(pcall(cmsgpack.unpack_limit, s, rnd(3), rnd(3))) end return table.concat(out, "|")"#,
                r#"2:true "2:false \034Missing bytes in input.\0342:false \034Missing bytes in input.\0344:true 3 -5 67|2:false \034Missing bytes in input.\0343:true 12 -4.9821641675078901e-882:false \034Missing bytes in input.\034|2:false \034Missing bytes in input.\0342:false \034Missing bytes in input.\0342:false \034Missing bytes in input.\034|2:false \034Missing bytes in input.\0342:false \034Missing bytes in input.\0342:false \034Missing bytes in input.\034|2:false \034Bad data format in input.\0343:true 3 1924:true 4 192 18|2:false \034Missing bytes in input.\0343:true 3 -242:false \034Missing bytes in input.\034|2:false \034Missing bytes in input.\0343:true 3 583:true 2 \034\034|1:true2:true -12:false \034Start offset 2 greater than input length 0.\034|2:false \034Missing bytes in input.\0342:false \034Missing bytes in input.\0343:true 2 -6|2:false \034Missing bytes in input.\0343:true 3 572:false \034Missing bytes in input.\034|5:true 28 nil 93 nil3:true 1 282:true 1|2:false \034Missing bytes in input.\0343:true 5 \034\092255\0344:true 3 70 26""#,
            ),
            (
                r#"local seed = 100 + 6 local function rnd(n) seed = (seed * 1103515245 + 12345) % 2147483648 return math.floor(seed / 65536) % n end local fav = {145, 129, 220, 221, 222, 223, 217, 218, 219, 192, 0, 255, 202, 203, 204, 207, 211, 160, 161, 147} local function h(s, x) for i = 1, #s do x = (x * 31 + s:byte(i)) % 2147483647 end return x end local out = {} for i = 1, 1500 do local t = {} for j = 1, rnd(20) do local r = rnd(3) if r == 0 then t[j] = string.char(fav[rnd(#fav) + 1]) else t[j] = string.char(rnd(256)) end end local s = table.concat(t) out[i] = dumpall(pcall(cmsgpack.unpack, s)) .. dumpall(pcall(cmsgpack.unpack_one, s, rnd(4))) .. dumpall(pcall(cmsgpack.unpack_limit, s, rnd(3), rnd(3))) end local s = table.concat(out, "|") return #out, #s, h(s, 7)"#,
                r#"4:true 1500 114870 1133025076"#,
            ),
        ]);
    }

    // END REDIS CASES
}
