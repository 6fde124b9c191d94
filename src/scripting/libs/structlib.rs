//! `struct`: Roberto Ierusalimschy's binary packing library (version 0.2 with Redis's fixes),
//! reproduced for an x86-64 / little-endian build of Redis.
//!
//! Format options: `>` `<` select big/little endian, `!n` sets the maximum alignment (a power
//! of two; `!` alone means 8, and without any `!` nothing is padded), ` ` is ignored; `b B h H l L T i[n] I[n]` are integers (signed when
//! lower case; 1, 2, 8, 8, n bytes, `i`/`I` default 4, at most 32), `f` `d` floats, `x` a zero
//! byte, `c[n]` n bytes (`c0`: the whole string when packing, a length taken from the previous
//! result when unpacking) and `s` a zero-terminated string.
//!
//! The C code's arithmetic is reproduced rather than "fixed", because scripts see it:
//! positions are `size_t` and wrap, integers pass through C's double-to-integer casts, fields
//! wider than 8 bytes keep only 8 bytes of value (zero-filled, or with the sign mask the x86
//! shift produces), and a format string ends at its first NUL byte.
//!
//! Deliberate differences: none known. Every read is bounds-checked; the checks the C code
//! makes come first, so the same inputs fail with the same messages.

use mlua::{Lua, Table, Value};

use super::{
    add_function, c_double_to_i64, c_double_to_u64, to_number, Args, Failure, LibResult, Reply,
    C_STACK_SLOTS,
};

/// Byte order of the machine Redis runs on; `struct` packs in it unless told otherwise.
const NATIVE_LITTLE: bool = cfg!(target_endian = "little");

/// Largest `i`/`I` size accepted (`MAXINTSIZE`).
const MAX_INT_SIZE: usize = 32;

/// Alignment `!` means without a number: that of a `double` on x86-64.
const MAX_ALIGN: usize = 8;

/// Builds the `struct` table.
pub(crate) fn module(lua: &Lua) -> mlua::Result<Table> {
    let table = lua.create_table()?;
    add_function(lua, &table, "pack", |lua, args| pack(lua, &args))?;
    add_function(lua, &table, "unpack", |lua, args| unpack(lua, &args))?;
    add_function(lua, &table, "size", |_, args| size(&args))?;
    Ok(table)
}

/// Endianness and maximum alignment, changed by `<`, `>` and `!` as the format is read.
struct Header {
    little: bool,
    align: usize,
}

impl Default for Header {
    fn default() -> Self {
        Header {
            little: NATIVE_LITTLE,
            align: 1,
        }
    }
}

/// A format string being read, one option at a time.
struct Format {
    bytes: Vec<u8>,
    pos: usize,
}

impl Format {
    /// The format at argument 1; like the C code's `while (*fmt)`, it ends at a NUL byte.
    fn from_args(args: &Args) -> LibResult<Self> {
        let s = args.check_string(1)?;
        let all = s.as_bytes();
        let end = all.iter().position(|&b| b == 0).unwrap_or(all.len());
        Ok(Format {
            bytes: all[..end].to_vec(),
            pos: 0,
        })
    }

    fn next_option(&mut self) -> Option<u8> {
        let opt = *self.bytes.get(self.pos)?;
        self.pos += 1;
        Some(opt)
    }

    /// Reads the decimal number that may follow an option, or returns `default`.
    fn number(&mut self, default: usize) -> LibResult<usize> {
        let mut digits = 0usize;
        let mut value: i32 = 0;
        while let Some(&d) = self.bytes.get(self.pos).filter(|b| b.is_ascii_digit()) {
            let d = i32::from(d - b'0');
            value = value
                .checked_mul(10)
                .and_then(|v| v.checked_add(d))
                .ok_or_else(|| Failure::error("integral size overflow"))?;
            self.pos += 1;
            digits += 1;
        }
        Ok(if digits == 0 { default } else { value as usize })
    }

    /// The size of the item `opt` stands for (0 for control options and `s`).
    fn option_size(&mut self, opt: u8) -> LibResult<usize> {
        Ok(match opt {
            b'B' | b'b' | b'x' => 1,
            b'H' | b'h' => 2,
            b'L' | b'l' | b'T' | b'd' => 8,
            b'f' => 4,
            b'c' => self.number(1)?,
            b'i' | b'I' => {
                let size = self.number(4)?;
                if size > MAX_INT_SIZE {
                    return Err(Failure::error(format!(
                        "integral size {size} is larger than limit of {MAX_INT_SIZE}"
                    )));
                }
                size
            }
            _ => 0,
        })
    }

    /// Applies a control option (`<`, `>`, `!n`, ` `); anything else is an invalid option.
    fn control(&mut self, opt: u8, h: &mut Header) -> LibResult<()> {
        match opt {
            b' ' => {}
            b'>' => h.little = false,
            b'<' => h.little = true,
            b'!' => {
                let align = self.number(MAX_ALIGN)?;
                if !align.is_power_of_two() {
                    return Err(Failure::error(format!(
                        "alignment {align} is not a power of 2"
                    )));
                }
                h.align = align;
            }
            _ => {
                let mut msg = b"invalid format option '".to_vec();
                msg.push(opt);
                msg.push(b'\'');
                return Err(Failure::arg(1, msg));
            }
        }
        Ok(())
    }
}

/// Padding needed before an item of `size` bytes at offset `len`. The C formula is kept as is,
/// including its answer for sizes that are not powers of two.
fn padding(len: u64, h: &Header, opt: u8, size: usize) -> u64 {
    if size == 0 || opt == b'c' {
        return 0;
    }
    let size = size.min(h.align) as u64;
    size.wrapping_sub(len & size.wrapping_sub(1)) & size.wrapping_sub(1)
}

fn is_integer_option(opt: u8) -> bool {
    matches!(
        opt,
        b'b' | b'B' | b'h' | b'H' | b'l' | b'L' | b'T' | b'i' | b'I'
    )
}

/// Orders `bytes` (native order) as requested.
fn ordered<const N: usize>(mut bytes: [u8; N], little: bool) -> [u8; N] {
    if little != NATIVE_LITTLE {
        bytes.reverse();
    }
    bytes
}

/// `struct.pack(fmt, ...)`.
fn pack(lua: &Lua, args: &Args) -> LibResult<Reply> {
    let mut fmt = Format::from_args(args)?;
    let mut h = Header::default();
    let mut arg = 2;
    let mut out = Vec::new();
    let mut total: u64 = 0;
    while let Some(opt) = fmt.next_option() {
        let mut size = fmt.option_size(opt)?;
        let pad = padding(total, &h, opt, size);
        total = total.wrapping_add(pad);
        out.resize(out.len() + pad as usize, 0);
        match opt {
            _ if is_integer_option(opt) => {
                put_integer(&mut out, pack_number(args, arg)?, h.little, size);
                arg += 1;
            }
            b'x' => out.push(0),
            b'f' => {
                let f = pack_number(args, arg)? as f32;
                arg += 1;
                out.extend_from_slice(&ordered(f.to_ne_bytes(), h.little));
            }
            b'd' => {
                let d = pack_number(args, arg)?;
                arg += 1;
                out.extend_from_slice(&ordered(d.to_ne_bytes(), h.little));
            }
            b'c' | b's' => {
                let s = pack_string(args, arg)?;
                arg += 1;
                let bytes = s.as_bytes();
                if size == 0 {
                    size = bytes.len();
                }
                // The C code reports the argument after the string (it has already moved on).
                let field = bytes
                    .get(..size)
                    .ok_or_else(|| Failure::arg(arg, "string too short"))?;
                out.extend_from_slice(field);
                if opt == b's' {
                    out.push(0);
                    size += 1;
                }
            }
            _ => fmt.control(opt, &mut h)?,
        }
        total = total.wrapping_add(size as u64);
    }
    Reply::one(Value::String(lua.create_string(&out)?))
}

/// The C `pack` pushes a nil right after its arguments, so the first missing one reads as nil
/// ("got nil", not "got no value").
fn pack_number(args: &Args, arg: usize) -> LibResult<f64> {
    if arg > args.len() {
        return Err(Failure::arg(arg, "number expected, got nil"));
    }
    args.check_number(arg)
}

/// See [`pack_number`].
fn pack_string(args: &Args, arg: usize) -> LibResult<mlua::LuaString> {
    if arg > args.len() {
        return Err(Failure::arg(arg, "string expected, got nil"));
    }
    args.check_string(arg)
}

/// Appends `n` as a `size`-byte integer. Negative numbers go through `int64_t`, others through
/// `uint64_t`, with C's casts; bytes past the eighth are zero.
fn put_integer(out: &mut Vec<u8>, n: f64, little: bool, size: usize) {
    let mut value = if n < 0.0 {
        c_double_to_i64(n) as u64
    } else {
        c_double_to_u64(n)
    };
    let mut buf = [0u8; MAX_INT_SIZE];
    let field = &mut buf[..size];
    if little {
        for b in field.iter_mut() {
            *b = value as u8;
            value >>= 8;
        }
    } else {
        for b in field.iter_mut().rev() {
            *b = value as u8;
            value >>= 8;
        }
    }
    out.extend_from_slice(field);
}

/// Reads a `size`-byte integer; only the last 8 bytes shifted in count, and the sign mask is
/// what x86's modulo-64 shift makes of `~0 << (size*8 - 1)`.
fn get_integer(field: &[u8], little: bool, signed: bool) -> f64 {
    let fold = |l: u64, &b: &u8| (l << 8) | u64::from(b);
    let l = if little {
        field.iter().rev().fold(0, fold)
    } else {
        field.iter().fold(0, fold)
    };
    if !signed {
        return l as f64;
    }
    let shift = (field.len() as u32).wrapping_mul(8).wrapping_sub(1);
    let mask = u64::MAX.wrapping_shl(shift);
    let l = if l & mask != 0 { l | mask } else { l };
    l as i64 as f64
}

/// `struct.unpack(fmt, data [, pos])`: the values, then the position after them.
fn unpack(lua: &Lua, args: &Args) -> LibResult<Reply> {
    let mut fmt = Format::from_args(args)?;
    let data_string = args.check_string(2)?;
    let data = data_string.as_bytes();
    let ld = data.len() as u64;
    // `size_t pos = luaL_optinteger(...)`: negative offsets wrap to huge ones and fail later.
    let start = args.opt_integer(3, 1)? as u64;
    if start == 0 {
        return Err(Failure::arg(3, "offset must be 1 or greater"));
    }
    let mut pos = start - 1;
    let results = lua.create_table()?;
    let mut n = 0usize;
    let mut h = Header::default();
    while let Some(opt) = fmt.next_option() {
        let mut size = fmt.option_size(opt)? as u64;
        pos = pos.wrapping_add(padding(pos, &h, opt, size as usize));
        check_room(pos, size, ld)?;
        if args.len() + n + 2 > C_STACK_SLOTS {
            return Err(Failure::stack_overflow("too many results"));
        }
        // `check_room` guarantees pos + size <= ld, so these ranges are in bounds.
        let at = pos as usize;
        match opt {
            _ if is_integer_option(opt) => {
                let field = &data[at..at + size as usize];
                let v = get_integer(field, h.little, opt.is_ascii_lowercase());
                n += 1;
                results.raw_set(n, v)?;
            }
            b'x' => {}
            b'f' => {
                let bytes = ordered(fixed::<4>(&data[at..])?, h.little);
                n += 1;
                results.raw_set(n, f64::from(f32::from_ne_bytes(bytes)))?;
            }
            b'd' => {
                let bytes = ordered(fixed::<8>(&data[at..])?, h.little);
                n += 1;
                results.raw_set(n, f64::from_ne_bytes(bytes))?;
            }
            b'c' => {
                if size == 0 {
                    size = previous_size(lua, &results, n)?;
                    results.raw_set(n, Value::Nil)?;
                    n -= 1;
                    check_room(pos, size, ld)?;
                }
                let field = &data[at..at + size as usize];
                n += 1;
                results.raw_set(n, lua.create_string(field)?)?;
            }
            b's' => {
                let rest = &data[at..];
                let len = rest
                    .iter()
                    .position(|&b| b == 0)
                    .ok_or_else(|| Failure::error("unfinished string in data"))?;
                n += 1;
                results.raw_set(n, lua.create_string(&rest[..len])?)?;
                size = len as u64 + 1;
            }
            _ => fmt.control(opt, &mut h)?,
        }
        pos = pos.wrapping_add(size);
    }
    n += 1;
    results.raw_set(n, pos.wrapping_add(1) as i64 as f64)?;
    Ok(Reply::Spread {
        table: results,
        len: n,
    })
}

/// The C check before every item: `size <= ld && pos <= ld - size`.
fn check_room(pos: u64, size: u64, ld: u64) -> LibResult<()> {
    if size <= ld && pos <= ld - size {
        Ok(())
    } else {
        Err(Failure::arg(2, "data string too short"))
    }
}

/// The first `N` bytes of `data` (the caller has checked there are enough).
fn fixed<const N: usize>(data: &[u8]) -> LibResult<[u8; N]> {
    data.get(..N)
        .and_then(|s| <[u8; N]>::try_from(s).ok())
        .ok_or_else(|| Failure::arg(2, "data string too short"))
}

/// The length a `c0` takes from the previous result, which must be a number (or a string Lua
/// reads as one).
fn previous_size(lua: &Lua, results: &Table, n: usize) -> LibResult<u64> {
    let previous = if n == 0 {
        Value::Nil
    } else {
        results.raw_get::<Value>(n)?
    };
    match to_number(lua, &previous)? {
        Some(len) => Ok(c_double_to_u64(len)),
        None => Err(Failure::error("format 'c0' needs a previous size")),
    }
}

/// `struct.size(fmt)`: bytes `pack` would produce. Unknown letters count as size 0 here (the C
/// code only checks non-alphanumeric options), `s` and `c0` have no fixed size.
fn size(args: &Args) -> LibResult<Reply> {
    let mut fmt = Format::from_args(args)?;
    let mut h = Header::default();
    let mut pos: u64 = 0;
    while let Some(opt) = fmt.next_option() {
        let size = fmt.option_size(opt)?;
        pos = pos.wrapping_add(padding(pos, &h, opt, size));
        if opt == b's' {
            return Err(Failure::arg(1, "option 's' has no fixed size"));
        }
        if opt == b'c' && size == 0 {
            return Err(Failure::arg(1, "option 'c0' has no fixed size"));
        }
        if !opt.is_ascii_alphanumeric() {
            fmt.control(opt, &mut h)?;
        }
        pos = pos.wrapping_add(size as u64);
    }
    Reply::one(Value::Number(pos as i64 as f64))
}

#[cfg(test)]
mod tests {
    use super::super::testing::{check_cases, run};

    #[test]
    fn random_formats_and_data_never_panic() {
        // A fixed-seed generator keeps the test reproducible without extra crates.
        let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut next = move || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        let alphabet = b"<>!= bBhHlLTiIfdxcs0123456789z\x00";
        for _ in 0..300 {
            let fmt: String = (0..(next() % 12))
                .map(|_| format!("\\{}", alphabet[(next() % alphabet.len() as u64) as usize]))
                .collect();
            let data: String = (0..(next() % 24))
                .map(|_| format!("\\{}", next() % 256))
                .collect();
            let pos = (next() % 40) as i64 - 5;
            let out = run(&format!(
                r#"local ok, e = pcall(struct.unpack, "{fmt}", "{data}", {pos})
                   local ok2, e2 = pcall(struct.pack, "{fmt}", 1, "{data}", 2, 3, "{data}")
                   local ok3, e3 = pcall(struct.size, "{fmt}")
                   return type(ok), type(ok2), type(ok3)"#
            ));
            assert_eq!(
                out, r#"4:true "boolean" "boolean" "boolean""#,
                "fmt={fmt} data={data}"
            );
        }
    }

    // Cases recorded from Redis 7.0.15: each snippet ran through EVAL as
    // `dumpall(pcall(function() <snippet> end))`; the second string is Redis's answer.
    // BEGIN REDIS CASES
    #[test]
    fn packs_integers_with_c_casts() {
        check_cases(&[
            (
                r#"return struct.pack("b", 1), struct.pack("B", 255), struct.pack("b", -1), struct.pack("B", 256), struct.pack("b", 1.9), struct.pack("b", -1.9)"#,
                r#"7:true "\001" "\255" "\255" "\000" "\001" "\255""#,
            ),
            (
                r#"return struct.pack(">h", 1), struct.pack("<h", 1), struct.pack("h", -2), struct.pack(">H", 65535), struct.pack("<H", 65536)"#,
                r#"6:true "\000\001" "\001\000" "\254\255" "\255\255" "\000\000""#,
            ),
            (
                r#"return struct.pack(">i", 1), struct.pack("<i", -1), struct.pack(">I", 2^32 - 1), struct.pack(">l", -2), struct.pack("<L", 2^53), struct.pack(">T", 1)"#,
                r#"7:true "\000\000\000\001" "\255\255\255\255" "\255\255\255\255" "\255\255\255\255\255\255\255\254" "\000\000\000\000\000\000 \000" "\000\000\000\000\000\000\000\001""#,
            ),
            (
                r#"return struct.pack(">i3", 0x010203), struct.pack("<i3", 0x010203), struct.pack(">i1", 300), struct.pack("<I5", 2^33 + 1), struct.pack(">i0", 5)"#,
                r#"6:true "\001\002\003" "\003\002\001" "," "\001\000\000\000\002" """#,
            ),
            (
                r#"return struct.pack("<i16", -1), struct.pack(">i16", -1), struct.pack("<I12", 2^40), struct.pack(">i9", -2)"#,
                r#"5:true "\255\255\255\255\255\255\255\255\000\000\000\000\000\000\000\000" "\000\000\000\000\000\000\000\000\255\255\255\255\255\255\255\255" "\000\000\000\000\000\001\000\000\000\000\000\000" "\000\255\255\255\255\255\255\255\254""#,
            ),
            (
                r#"return struct.pack("<L", 0/0), struct.pack("<L", 1e20), struct.pack("<L", 2^63), struct.pack("<l", -1e20), struct.pack("<L", 2^64), struct.pack("<l", -2^63)"#,
                r#"7:true "\000\000\000\000\000\000\000\128" "\000\000\000\000\000\000\000\000" "\000\000\000\000\000\000\000\128" "\000\000\000\000\000\000\000\128" "\000\000\000\000\000\000\000\000" "\000\000\000\000\000\000\000\128""#,
            ),
            (
                r#"return struct.pack("<l", 1/0), struct.pack("<l", -1/0), struct.pack("<L", 2^63 + 2^11), struct.pack(">L", 2^64 - 2^11)"#,
                r#"5:true "\000\000\000\000\000\000\000\000" "\000\000\000\000\000\000\000\128" "\000\008\000\000\000\000\000\128" "\255\255\255\255\255\255\248\000""#,
            ),
            (
                r#"return struct.pack("i32", 1), struct.pack("I32", -1)"#,
                r#"3:true "\001\000\000\000\000\000\000\000\000\000\000\000\000\000\000\000\000\000\000\000\000\000\000\000\000\000\000\000\000\000\000\000" "\255\255\255\255\255\255\255\255\000\000\000\000\000\000\000\000\000\000\000\000\000\000\000\000\000\000\000\000\000\000\000\000""#,
            ),
        ]);
    }

    #[test]
    fn packs_floats_strings_and_padding() {
        check_cases(&[
            (
                r#"return struct.pack(">f", 1.5), struct.pack("<f", -0.0), struct.pack(">f", 1/0), struct.pack(">f", 1e40), struct.pack(">f", 0.1), struct.pack("<d", 0.1), struct.pack(">d", -2.5)"#,
                r#"8:true "?\192\000\000" "\000\000\000\128" "\255\128\000\000" "\127\128\000\000" "=\204\204\205" "\154\153\153\153\153\153\185?" "\192\004\000\000\000\000\000\000""#,
            ),
            (
                r#"return struct.pack("x"), struct.pack("xxb", 7), struct.pack("c", "abc"), struct.pack("c3", "abc"), struct.pack("c0", "hello"), struct.pack("s", "hi"), struct.pack("s", "")"#,
                r#"8:true "\000" "\000\000\007" "a" "abc" "hello" "hi\000" "\000""#,
            ),
            (
                r#"return struct.pack("s", 12.5), struct.pack("c0", 42), struct.pack("b", "7"), struct.pack("d", "1e2")"#,
                r#"5:true "12.5\000" "42" "\007" "\000\000\000\000\000\000Y@""#,
            ),
            (
                r#"return struct.pack("> <  b", 1), struct.pack(" "), struct.pack(""), struct.pack("<!4 b i", 1, 2)"#,
                r#"5:true "\001" "" "" "\001\000\000\000\002\000\000\000""#,
            ),
            (
                r#"return struct.pack("b\0b", 1, 2), struct.pack("i4", 1, 2, 3)"#,
                r#"3:true "\001" "\001\000\000\000""#,
            ),
        ]);
    }

    #[test]
    fn pack_alignment() {
        check_cases(&[
            (
                r#"return struct.pack("!bi", 1, 2), struct.pack("!4bi", 1, 2), struct.pack("!2bi", 1, 2), struct.pack("!bd", 1, 2), struct.pack("!4bd", 1, 2), struct.pack("!16bd", 1, 2)"#,
                r#"7:true "\001\000\000\000\002\000\000\000" "\001\000\000\000\002\000\000\000" "\001\000\002\000\000\000" "\001\000\000\000\000\000\000\000\000\000\000\000\000\000\000@" "\001\000\000\000\000\000\000\000\000\000\000@" "\001\000\000\000\000\000\000\000\000\000\000\000\000\000\000@""#,
            ),
            (
                r#"return struct.pack("!8bhbibl", 1, 2, 3, 4, 5, 6), struct.pack("!8bi3", 1, 2), struct.pack("!8bi6", 1, 2), struct.pack("!8bcbi", 1, "x", 2, 3)"#,
                r#"5:true "\001\000\002\000\003\000\000\000\004\000\000\000\005\000\000\000\006\000\000\000\000\000\000\000" "\001\000\000\002\000\000" "\001\000\000\000\000\000\002\000\000\000\000\000" "\001x\002\000\003\000\000\000""#,
            ),
        ]);
    }

    #[test]
    fn pack_errors() {
        check_cases(&[
            (
                r#"return struct.pack("c2", "a")"#,
                r#"2:false "user_script:25: bad argument #3 to 'pack' (string too short)""#,
            ),
            (
                r#"return struct.pack("bc5", 1, "abc")"#,
                r#"2:false "user_script:25: bad argument #4 to 'pack' (string too short)""#,
            ),
            (
                r#"return struct.pack("s", {})"#,
                r#"2:false "user_script:25: bad argument #2 to 'pack' (string expected, got table)""#,
            ),
            (
                r#"return struct.pack("b")"#,
                r#"2:false "user_script:25: bad argument #2 to 'pack' (number expected, got nil)""#,
            ),
            (
                r#"return struct.pack("b", nil)"#,
                r#"2:false "user_script:25: bad argument #2 to 'pack' (number expected, got nil)""#,
            ),
            (
                r#"return struct.pack("b", "x")"#,
                r#"2:false "user_script:25: bad argument #2 to 'pack' (number expected, got string)""#,
            ),
            (
                r#"return struct.pack("z", 1)"#,
                r#"2:false "user_script:25: bad argument #1 to 'pack' (invalid format option 'z')""#,
            ),
            (
                r#"return struct.pack("i33", 1)"#,
                r#"2:false "user_script:25: integral size 33 is larger than limit of 32""#,
            ),
            (
                r#"return struct.pack("i99999999999", 1)"#,
                r#"2:false "user_script:25: integral size overflow""#,
            ),
            (
                r#"return struct.pack("c99999999999", "x")"#,
                r#"2:false "user_script:25: integral size overflow""#,
            ),
            (
                r#"return struct.pack("!3i", 1)"#,
                r#"2:false "user_script:25: alignment 3 is not a power of 2""#,
            ),
            (
                r#"return struct.pack("!0i", 1)"#,
                r#"2:false "user_script:25: alignment 0 is not a power of 2""#,
            ),
            (
                r#"return struct.pack()"#,
                r#"2:false "user_script:25: bad argument #1 to 'pack' (string expected, got no value)""#,
            ),
            (
                r#"return struct.pack({})"#,
                r#"2:false "user_script:25: bad argument #1 to 'pack' (string expected, got table)""#,
            ),
            (
                r#"return struct.pack(5, 1)"#,
                r#"2:false "user_script:25: bad argument #1 to 'pack' (invalid format option '5')""#,
            ),
            (
                r#"return struct.pack("bb", 1)"#,
                r#"2:false "user_script:25: bad argument #3 to 'pack' (number expected, got nil)""#,
            ),
            (
                r#"return struct.pack("\255", 1)"#,
                r#"2:false "user_script:25: bad argument #1 to 'pack' (invalid format option '\255')""#,
            ),
            (
                r#"return struct.pack("4", 1)"#,
                r#"2:false "user_script:25: bad argument #1 to 'pack' (invalid format option '4')""#,
            ),
            (
                r#"return struct.pack("bc")"#,
                r#"2:false "user_script:25: bad argument #2 to 'pack' (number expected, got nil)""#,
            ),
            (
                r#"return struct.pack("bs", 1)"#,
                r#"2:false "user_script:25: bad argument #3 to 'pack' (string expected, got nil)""#,
            ),
        ]);
    }

    #[test]
    fn size_of_formats() {
        check_cases(&[
            (
                r#"return struct.size("b"), struct.size("bhilT"), struct.size("!bhilT"), struct.size("i3i5"), struct.size("c10"), struct.size(""), struct.size("dfx")"#,
                r#"8:true 1 23 24 8 10 0 13"#,
            ),
            (
                r#"return struct.size("z"), struct.size("ZQ"), struct.size("!4bd"), struct.size("!bd"), struct.size("<>! ")"#,
                r#"6:true 0 0 12 16 0"#,
            ),
            (
                r#"return struct.size("s")"#,
                r#"2:false "user_script:25: bad argument #1 to 'size' (option 's' has no fixed size)""#,
            ),
            (
                r#"return struct.size("c0")"#,
                r#"2:false "user_script:25: bad argument #1 to 'size' (option 'c0' has no fixed size)""#,
            ),
            (
                r#"return struct.size("bs")"#,
                r#"2:false "user_script:25: bad argument #1 to 'size' (option 's' has no fixed size)""#,
            ),
            (
                r#"return struct.size("i40")"#,
                r#"2:false "user_script:25: integral size 40 is larger than limit of 32""#,
            ),
            (
                r#"return struct.size("!3")"#,
                r#"2:false "user_script:25: alignment 3 is not a power of 2""#,
            ),
            (
                r##"return struct.size("#")"##,
                r#"2:false "user_script:25: bad argument #1 to 'size' (invalid format option '#')""#,
            ),
            (
                r#"return struct.size()"#,
                r#"2:false "user_script:25: bad argument #1 to 'size' (string expected, got no value)""#,
            ),
            (
                r#"return struct.size("c2147483647c2147483647c2147483647")"#,
                r#"2:true 6442450941"#,
            ),
        ]);
    }

    #[test]
    fn unpacks_integers_and_floats() {
        check_cases(&[
            (
                r#"return struct.unpack("b", "\255"), struct.unpack("B", "\255"), struct.unpack(">h", "\255\254"), struct.unpack("<H", "\1\2")"#,
                r#"6:true -1 255 -2 513 3"#,
            ),
            (
                r#"return struct.unpack(">i", "\255\255\255\255"), struct.unpack(">I", "\255\255\255\255"), struct.unpack("<l", "\1\0\0\0\0\0\0\128"), struct.unpack("<L", "\255\255\255\255\255\255\255\255")"#,
                r#"6:true -1 4294967295 -9.2233720368547758e+18 1.8446744073709552e+19 9"#,
            ),
            (
                r#"return struct.unpack("<i3", "\255\255\255"), struct.unpack(">i3", "\128\0\0"), struct.unpack("<I3", "\1\2\3"), struct.unpack("i0", "")"#,
                r#"6:true -1 -8388608 197121 0 1"#,
            ),
            (
                r#"return struct.unpack("<i16", string.rep("\255", 16)), struct.unpack("<i9", string.rep("\255", 9)), struct.unpack(">i9", "\128" .. string.rep("\0", 8)), struct.unpack("<I12", "\1\2\3\4\5\6\7\8\9\10\11\12"), struct.unpack(">I12", "\1\2\3\4\5\6\7\8\9\10\11\12")"#,
                r#"7:true -1 -1 0 5.784376957523072e+17 3.6198455114268954e+17 13"#,
            ),
            (
                r#"return struct.unpack(">i10", "\0\0\128\0\0\0\0\0\0\1"), struct.unpack("<i10", "\1\0\0\0\0\0\0\0\0\128"), struct.unpack("<i32", string.rep("\255", 32))"#,
                r#"5:true -32767 1 -1 33"#,
            ),
            (
                r#"return struct.unpack(">f", "\63\192\0\0"), struct.unpack("<d", "\154\153\153\153\153\153\185\63"), struct.unpack(">d", "\127\240\0\0\0\0\0\0"), struct.unpack(">f", "\127\192\0\0")"#,
                r#"6:true 1.5 0.10000000000000001 inf nan 5"#,
            ),
        ]);
    }

    #[test]
    fn unpacks_strings() {
        check_cases(&[
            (
                r#"return struct.unpack("c3", "abcdef"), struct.unpack("c", "abc"), struct.unpack("s", "ab\0cd"), struct.unpack("ss", "a\0b\0"), struct.unpack("xb", "\1\2")"#,
                r#"7:true "abc" "a" "ab" "a" 2 3"#,
            ),
            (
                r#"return struct.unpack("bc0", "\3abcd"), struct.unpack("c1c0", "3abcd"), struct.unpack("bc0b", "\2xy\5")"#,
                r#"6:true "abc" "abc" "xy" 5 5"#,
            ),
            (
                r#"return struct.unpack("c0", "abc")"#,
                r#"2:false "user_script:25: format 'c0' needs a previous size""#,
            ),
            (
                r#"return struct.unpack("cc0", "xabc")"#,
                r#"2:false "user_script:25: format 'c0' needs a previous size""#,
            ),
            (
                r#"return struct.unpack("bc0", "\9abc")"#,
                r#"2:false "user_script:25: bad argument #2 to 'unpack' (data string too short)""#,
            ),
            (
                r#"return struct.unpack("bc0", "\255abc")"#,
                r#"2:false "user_script:25: bad argument #2 to 'unpack' (data string too short)""#,
            ),
            (
                r#"return struct.unpack("s", "abc")"#,
                r#"2:false "user_script:25: unfinished string in data""#,
            ),
            (
                r#"return struct.unpack("i", "abc")"#,
                r#"2:false "user_script:25: bad argument #2 to 'unpack' (data string too short)""#,
            ),
            (
                r#"return struct.unpack("b", "")"#,
                r#"2:false "user_script:25: bad argument #2 to 'unpack' (data string too short)""#,
            ),
            (
                r#"return struct.unpack("c2", "a\0b"), struct.unpack("s", "\0")"#,
                r#"4:true "a\000" "" 2"#,
            ),
        ]);
    }

    #[test]
    fn unpack_positions() {
        check_cases(&[
            (
                r#"return struct.unpack("b", "a", 0)"#,
                r#"2:false "user_script:25: bad argument #3 to 'unpack' (offset must be 1 or greater)""#,
            ),
            (
                r#"return struct.unpack("", "abc", 0)"#,
                r#"2:false "user_script:25: bad argument #3 to 'unpack' (offset must be 1 or greater)""#,
            ),
            (
                r#"return struct.unpack(">", "", 5)"#,
                r#"2:false "user_script:25: bad argument #2 to 'unpack' (data string too short)""#,
            ),
            (
                r#"return struct.unpack("b", "abc", 2), struct.unpack("b", "abc", 3), struct.unpack("", "abc", 4), struct.unpack("", "abc", 100)"#,
                r#"5:true 98 99 4 100"#,
            ),
            (
                r#"return struct.unpack("b", "abc", 4)"#,
                r#"2:false "user_script:25: bad argument #2 to 'unpack' (data string too short)""#,
            ),
            (
                r#"return struct.unpack("", "abc", -1), struct.unpack("", "abc", -5)"#,
                r#"3:true -1 -5"#,
            ),
            (
                r#"return struct.unpack("b", "abc", -1)"#,
                r#"2:false "user_script:25: bad argument #2 to 'unpack' (data string too short)""#,
            ),
            (
                r#"return struct.unpack("!4bi", "\1\0\0\0\2\0\0\0"), struct.unpack("!4bi", "\1\0\0\0\2\0\0\0", 1), struct.unpack("!4i", "\0\0\0\0\1\0\0\0", 2)"#,
                r#"5:true 1 1 1 9"#,
            ),
            (
                r#"return struct.unpack("!8bd", "\1" .. string.rep("\0", 7) .. "\0\0\0\0\0\0\240\63")"#,
                r#"4:true 1 1 17"#,
            ),
            (
                r#"return struct.unpack("b", "\1\2", "2"), struct.unpack("b", "\1\2", 1.7), struct.unpack("b", "\1\2", nil)"#,
                r#"5:true 2 1 1 2"#,
            ),
        ]);
    }

    #[test]
    fn unpack_errors() {
        check_cases(&[
            (
                r#"return struct.unpack("b", "\1\2", "x")"#,
                r#"2:false "user_script:25: bad argument #3 to 'unpack' (number expected, got string)""#,
            ),
            (
                r#"return struct.unpack("b", {})"#,
                r#"2:false "user_script:25: bad argument #2 to 'unpack' (string expected, got table)""#,
            ),
            (
                r#"return struct.unpack("b")"#,
                r#"2:false "user_script:25: bad argument #2 to 'unpack' (string expected, got no value)""#,
            ),
            (
                r#"return struct.unpack("z", "a")"#,
                r#"2:false "user_script:25: bad argument #1 to 'unpack' (invalid format option 'z')""#,
            ),
            (
                r#"return struct.unpack("b\0b", "\1\2"), struct.unpack("b", 5)"#,
                r#"4:true 1 53 2"#,
            ),
            (
                r#"return struct.unpack(" b > h < h", "\1\0\2\2\0")"#,
                r#"5:true 1 2 2 6"#,
            ),
            (
                r#"return struct.unpack("i40", "")"#,
                r#"2:false "user_script:25: integral size 40 is larger than limit of 32""#,
            ),
        ]);
    }

    #[test]
    fn round_trips() {
        check_cases(&[
            (
                r#"return struct.unpack(struct.pack(">bhilTfdc3s", -1, -2, -3, -4, 5, 1.5, -2.25, "xyz", "tail"), "x")"#,
                r#"2:false "user_script:25: bad argument #1 to 'unpack' (invalid format option '\255')""#,
            ),
            (
                r#"return struct.unpack(">bhilTfdc3s", struct.pack(">bhilTfdc3s", -1, -2, -3, -4, 5, 1.5, -2.25, "xyz", "tail"))"#,
                r#"11:true -1 -2 -3 -4 5 1.5 -2.25 "xyz" "tail" 44"#,
            ),
            (
                r#"return struct.unpack("<BHILT", struct.pack("<BHILT", 200, 60000, 4000000000, 2^60, 2^62))"#,
                r#"7:true 200 60000 4000000000 1.152921504606847e+18 4.6116860184273879e+18 24"#,
            ),
            (
                r#"local t = {} for i = 1, 100 do t[i] = i end return #struct.pack(string.rep("b", 100), unpack(t))"#,
                r#"2:true 100"#,
            ),
        ]);
    }

    #[test]
    fn stack_limits() {
        check_cases(&[
            (
                r#"local r = {} for _, n in ipairs({7995,7996,7997,7998}) do local ok, e = pcall(function() return select('#', struct.unpack(string.rep('b', n), string.rep('\1', n))) end) r[#r+1] = n..'='..tostring(e) end return table.concat(r, ' ')"#,
                r#"2:true "7995=7996 7996=7997 7997=7998 7998=user_script:25: stack overflow (too many results)""#,
            ),
            (
                r#"local r = {} for _, n in ipairs({7990, 7996,7997}) do local ok, e = pcall(function() return select('#', struct.unpack(string.rep('b', n), string.rep('\1', n), 1)) end) r[#r+1] = n..'='..tostring(e) end return table.concat(r, ' ')"#,
                r#"2:true "7990=7991 7996=7997 7997=user_script:25: stack overflow (too many results)""#,
            ),
            (
                r#"local t = {} for i = 1, 7990 do t[i] = 1 end local s = struct.pack(string.rep('b', 7990), unpack(t)) return #s"#,
                r#"2:true 7990"#,
            ),
            (
                r#"local t = {} for i = 1, 5000 do t[i] = 1 end local s = struct.pack(string.rep('b', 5000), unpack(t)) return #s"#,
                r#"2:true 5000"#,
            ),
        ]);
    }

    #[test]
    fn differential_random_inputs() {
        check_cases(&[
            (
                r#"local seed = 7 local function rnd(n) seed = (seed * 1103515245 + 12345) % 2147483648 return math.floor(seed / 65536) % n end local alpha = '<>! bBhHlLTiIfdxcs0123456789z' local out = {} for i = 1, 12 do local f = {} for j = 1, rnd(8) do local p = rnd(#alpha) + 1 f[j] = alpha:sub(p, p) end local d = {} for j = 1, rnd(24) do d[j] = string.char(rnd(256)) end local fmt, data = table.concat(f), table.concat(d) out[i] = dumpall(pcall(struct.unpack, fmt, data, rnd(6) - 1)) .. dumpall(pcall(struct.pack, fmt, rnd(300) - 150, data, 2.5, "x", -1)) .. dumpall(pcall(struct.size, fmt)) end return table.concat(out, "|")"#,
                r#"2:true "2:false \034bad argument #1 to '?' (invalid format option '3')\0342:false \034bad argument #1 to '?' (invalid format option '3')\0342:true 10|2:true 42:true \034\0342:true 0|2:false \034bad argument #3 to '?' (offset must be 1 or greater)\0342:false \034bad argument #1 to '?' (invalid format option '0')\0342:true 0|3:true 5.4635545336669696e+18 92:true \034l\092000\092000\092000\092000\092000\092000\092000\0342:true 8|2:false \034bad argument #1 to '?' (invalid format option '7')\0342:false \034bad argument #1 to '?' (invalid format option '7')\0342:true 20|2:false \034bad argument #2 to '?' (data string too short)\0342:true \034\0342:true 0|2:false \034bad argument #2 to '?' (data string too short)\0342:false \034bad argument #1 to '?' (invalid format option '4')\0342:true 0|2:false \034bad argument #3 to '?' (offset must be 1 or greater)\0342:false \034bad argument #1 to '?' (invalid format option '3')\0342:true 19|2:false \034bad argument #1 to '?' (invalid format option '8')\0342:false \034bad argument #3 to '?' (number expected, got string)\0342:true 9|2:false \034bad argument #2 to '?' (data string too short)\0342:false \034bad argument #1 to '?' (invalid format option '9')\0342:true 5|2:false \034bad argument #2 to '?' (data string too short)\0342:false \034bad argument #1 to '?' (invalid format option '5')\0342:true 0|2:false \034bad argument #2 to '?' (data string too short)\0342:false \034bad argument #3 to '?' (number expected, got string)\0342:true 19""#,
            ),
            (
                r#"local seed = 100 + 7 local function rnd(n) seed = (seed * 1103515245 + 12345) % 2147483648 return math.floor(seed / 65536) % n end local alpha = '<>! bBhHlLTiIfdxcs0123456789z' local function h(s, x) for i = 1, #s do x = (x * 31 + s:byte(i)) % 2147483647 end return x end local out = {} for i = 1, 1500 do local f = {} for j = 1, rnd(8) do local p = rnd(#alpha) + 1 f[j] = alpha:sub(p, p) end local d = {} for j = 1, rnd(24) do d[j] = string.char(rnd(256)) end local fmt, data = table.concat(f), table.concat(d) out[i] = dumpall(pcall(struct.unpack, fmt, data, rnd(6) - 1)) .. dumpall(pcall(struct.pack, fmt, rnd(300) - 150, data, 2.5, "x", -1)) .. dumpall(pcall(struct.size, fmt)) end local s = table.concat(out, "|") return #out, #s, h(s, 7)"#,
                r#"4:true 1500 167631 1787127900"#,
            ),
        ]);
    }

    // END REDIS CASES
}
