//! `bit`: LuaBitOp 1.0's 32-bit operations, as Redis ships them.
//!
//! Every argument is normalised the LuaBitOp way: the double plus 2^52+2^51, low 32 bits of
//! the result's bit pattern. That rounds to nearest-even and wraps modulo 2^32 for any number a
//! script is likely to pass, and gives LuaBitOp's own well-defined bits for the rest (huge
//! values, infinities). Results are signed 32-bit numbers.
//!
//! Deliberate difference: `bit.tohex(x, n)` with `n` normalising to -2^31 overruns a buffer in
//! the C code (it negates `INT_MIN`); here it behaves like `n = -8`.

use mlua::{Lua, Table, Value};

use super::{add_function, Args, LibResult, Reply};

/// Builds the `bit` table.
pub(crate) fn module(lua: &Lua) -> mlua::Result<Table> {
    let bit = lua.create_table()?;
    add_function(lua, &bit, "tobit", |_, args| ret(arg(&args, 1)?))?;
    add_function(lua, &bit, "bnot", |_, args| ret(!arg(&args, 1)?))?;
    add_function(lua, &bit, "band", |_, args| fold(&args, |a, b| a & b))?;
    add_function(lua, &bit, "bor", |_, args| fold(&args, |a, b| a | b))?;
    add_function(lua, &bit, "bxor", |_, args| fold(&args, |a, b| a ^ b))?;
    add_function(lua, &bit, "lshift", |_, args| shift(&args, |b, n| b << n))?;
    add_function(lua, &bit, "rshift", |_, args| shift(&args, |b, n| b >> n))?;
    add_function(lua, &bit, "arshift", |_, args| {
        shift(&args, |b, n| ((b as i32) >> n) as u32)
    })?;
    add_function(lua, &bit, "rol", |_, args| shift(&args, u32::rotate_left))?;
    add_function(lua, &bit, "ror", |_, args| shift(&args, u32::rotate_right))?;
    add_function(lua, &bit, "bswap", |_, args| {
        ret(arg(&args, 1)?.swap_bytes())
    })?;
    add_function(lua, &bit, "tohex", |lua, args| tohex(lua, &args))?;
    Ok(bit)
}

/// LuaBitOp's number-to-bits conversion (exact for |n| < 2^51, rounding half to even).
pub(crate) fn normalize(n: f64) -> u32 {
    (n + 6_755_399_441_055_744.0).to_bits() as u32
}

/// The argument at `i` as 32 bits. Like LuaBitOp under Lua 5.1, anything `lua_tonumber`
/// cannot convert (including a missing argument) is a type error.
fn arg(args: &Args, i: usize) -> LibResult<u32> {
    match args.to_number(i)? {
        Some(n) => Ok(normalize(n)),
        None => Err(args.type_error(i, "number")?),
    }
}

/// Results are the signed reading of the 32 bits.
fn ret(b: u32) -> LibResult<Reply> {
    Reply::one(Value::Integer(i64::from(b as i32)))
}

/// `band`/`bor`/`bxor`: the first argument, then the others from the last one back, which
/// decides which bad argument is reported first.
fn fold(args: &Args, op: fn(u32, u32) -> u32) -> LibResult<Reply> {
    let mut acc = arg(args, 1)?;
    for i in (2..=args.len()).rev() {
        acc = op(acc, arg(args, i)?);
    }
    ret(acc)
}

/// Shifts and rotations: the count uses its low 5 bits only.
fn shift(args: &Args, op: fn(u32, u32) -> u32) -> LibResult<Reply> {
    let b = arg(args, 1)?;
    let n = arg(args, 2)? & 31;
    ret(op(b, n))
}

/// `tohex(x [, n])`: `n` digits (default 8, at most 8), upper case when `n` is negative.
/// Only a missing `n` means the default; an explicit nil is a type error.
fn tohex(lua: &Lua, args: &Args) -> LibResult<Reply> {
    let mut b = arg(args, 1)?;
    let mut n = if args.len() < 2 {
        8
    } else {
        arg(args, 2)? as i32
    };
    let digits: &[u8; 16] = if n < 0 {
        n = n.checked_neg().unwrap_or(8);
        b"0123456789ABCDEF"
    } else {
        b"0123456789abcdef"
    };
    let n = n.min(8) as usize;
    let mut buf = [0u8; 8];
    for slot in buf[..n].iter_mut().rev() {
        *slot = digits[(b & 15) as usize];
        b >>= 4;
    }
    Reply::one(Value::String(lua.create_string(&buf[..n])?))
}

#[cfg(test)]
mod tests {
    use super::super::testing::{check_cases, run};
    use super::normalize;

    #[test]
    fn normalisation_rounds_half_to_even_and_wraps() {
        assert_eq!(normalize(0.5), 0);
        assert_eq!(normalize(1.5), 2);
        assert_eq!(normalize(2.5), 2);
        assert_eq!(normalize(-0.5), 0);
        assert_eq!(normalize(4294967296.0 + 5.0), 5);
        assert_eq!(normalize(-1.0), u32::MAX);
    }

    #[test]
    fn hostile_arguments_never_panic() {
        for snippet in [
            "return bit.tohex(1, -2^31)",
            "return bit.tohex(1, 2^31)",
            "return bit.tohex(0/0, 0/0)",
            "return bit.lshift(1/0, -1/0)",
            "return bit.band(unpack({}, 1, 200))",
        ] {
            assert!(run(snippet).starts_with('2'), "{snippet}");
        }
        assert_eq!(run("return bit.tohex(1, -2^31)"), r#"2:true "00000001""#);
    }

    // Cases recorded from Redis 7.0.15: each snippet ran through EVAL as
    // `dumpall(pcall(function() <snippet> end))`; the second string is Redis's answer.
    // BEGIN REDIS CASES
    #[test]
    fn normalises_arguments_like_luabitop() {
        check_cases(&[
            (
                r#"return bit.tobit(0), bit.tobit(1), bit.tobit(-1), bit.tobit(2^31), bit.tobit(2^32), bit.tobit(2^32 + 5), bit.tobit(-2^31 - 1)"#,
                r#"8:true 0 1 -1 -2147483648 0 5 2147483647"#,
            ),
            (
                r#"return bit.tobit(0.5), bit.tobit(1.5), bit.tobit(2.5), bit.tobit(-0.5), bit.tobit(-1.5), bit.tobit(0.49999999999999994)"#,
                r#"7:true 0 2 2 0 -2 0"#,
            ),
            (
                r#"return bit.tobit(1e300), bit.tobit(-1e300), bit.tobit(1/0), bit.tobit(-1/0), bit.tobit(0/0), bit.tobit(2^52), bit.tobit(2^53 + 2), bit.tobit(2^60 + 7)"#,
                r#"9:true -2013235812 -2013235812 0 0 0 0 1 0"#,
            ),
            (
                r#"return bit.tobit("0x10"), bit.tobit(" 10 "), bit.tobit("1e3"), bit.tobit("-7"), bit.tobit("0")"#,
                r#"6:true 16 10 1000 -7 0"#,
            ),
            (
                r#"return bit.tobit(0xffffffff), bit.tobit(4294967295.5), bit.tobit(4294967296.5), bit.tobit(-4294967296.5)"#,
                r#"5:true -1 0 0 0"#,
            ),
            (
                r#"return bit.tobit(-0.0), bit.tobit(6755399441055744), bit.tobit(-6755399441055744), bit.tobit(2^51 + 0.5)"#,
                r#"5:true 0 0 0 0"#,
            ),
        ]);
    }

    #[test]
    fn rejects_non_numbers_with_lua51_messages() {
        check_cases(&[
            (
                r#"return bit.tobit(nil)"#,
                r#"2:false "user_script:25: bad argument #1 to 'tobit' (number expected, got nil)""#,
            ),
            (
                r#"return bit.tobit()"#,
                r#"2:false "user_script:25: bad argument #1 to 'tobit' (number expected, got no value)""#,
            ),
            (
                r#"return bit.tobit("abc")"#,
                r#"2:false "user_script:25: bad argument #1 to 'tobit' (number expected, got string)""#,
            ),
            (
                r#"return bit.tobit({})"#,
                r#"2:false "user_script:25: bad argument #1 to 'tobit' (number expected, got table)""#,
            ),
            (
                r#"return bit.tobit(true)"#,
                r#"2:false "user_script:25: bad argument #1 to 'tobit' (number expected, got boolean)""#,
            ),
            (
                r#"return bit.tobit(cjson.null)"#,
                r#"2:false "user_script:25: bad argument #1 to 'tobit' (number expected, got userdata)""#,
            ),
            (
                r#"return bit.band()"#,
                r#"2:false "user_script:25: bad argument #1 to 'band' (number expected, got no value)""#,
            ),
            (
                r#"return bit.band(1, "x", {})"#,
                r#"2:false "user_script:25: bad argument #3 to 'band' (number expected, got table)""#,
            ),
            (
                r#"return bit.bor(1, 2, nil)"#,
                r#"2:false "user_script:25: bad argument #3 to 'bor' (number expected, got nil)""#,
            ),
            (
                r#"return bit.bxor(nil, 1)"#,
                r#"2:false "user_script:25: bad argument #1 to 'bxor' (number expected, got nil)""#,
            ),
            (
                r#"return bit.lshift(1)"#,
                r#"2:false "user_script:25: bad argument #2 to 'lshift' (number expected, got no value)""#,
            ),
            (
                r#"return bit.rshift(nil, 1)"#,
                r#"2:false "user_script:25: bad argument #1 to 'rshift' (number expected, got nil)""#,
            ),
            (
                r#"return bit.rol(1, "x")"#,
                r#"2:false "user_script:25: bad argument #2 to 'rol' (number expected, got string)""#,
            ),
            (
                r#"return bit.tohex(1, nil)"#,
                r#"2:false "user_script:25: bad argument #2 to 'tohex' (number expected, got nil)""#,
            ),
            (
                r#"return bit.tohex(nil)"#,
                r#"2:false "user_script:25: bad argument #1 to 'tohex' (number expected, got nil)""#,
            ),
            (
                r#"local ok, e = pcall(bit.tobit) return e"#,
                r#"2:true "bad argument #1 to '?' (number expected, got no value)""#,
            ),
            (
                r#"local ok, e = pcall(bit.band, 1, {}) return e"#,
                r#"2:true "bad argument #2 to '?' (number expected, got table)""#,
            ),
            (
                r#"local t = {} for i = 1, 30 do t[i] = 0xffff end t[31] = "z" return pcall(bit.band, unpack(t))"#,
                r#"3:true false "bad argument #31 to '?' (number expected, got string)""#,
            ),
        ]);
    }

    #[test]
    fn bitwise_logic() {
        check_cases(&[
            (
                r#"return bit.bnot(0), bit.bnot(-1), bit.bnot(0x7fffffff), bit.bnot(2^32 + 1)"#,
                r#"5:true -1 0 -2147483648 -2"#,
            ),
            (
                r#"return bit.band(0xff, 0x0f), bit.band(-1, 0x80000000), bit.band(1), bit.band(7, 3, 5)"#,
                r#"5:true 15 -2147483648 1 1"#,
            ),
            (
                r#"return bit.bor(1, 2, 4, 8), bit.bor(0x80000000, 0), bit.bor(-1), bit.bxor(0xff, 0x0f), bit.bxor(1, 1, 1)"#,
                r#"6:true 15 -2147483648 -1 240 1"#,
            ),
            (
                r#"return bit.band(1, "3"), bit.bor("0x10", "0x01")"#,
                r#"3:true 1 17"#,
            ),
            (
                r#"return bit.band(0x12345678, 0xff00ff00), bit.bor(0x12345678, 0xff00ff00), bit.bxor(0x12345678, 0xff00ff00)"#,
                r#"4:true 302011904 -13303944 -315315848"#,
            ),
            (
                r#"local t = {} for i = 1, 100 do t[i] = 2^(i % 31) end return bit.bor(unpack(t))"#,
                r#"2:true 2147483647"#,
            ),
        ]);
    }

    #[test]
    fn shifts_and_rotations() {
        check_cases(&[
            (
                r#"return bit.lshift(1, 0), bit.lshift(1, 31), bit.lshift(1, 32), bit.lshift(1, 33), bit.lshift(1, -1), bit.lshift(0xff, 28)"#,
                r#"7:true 1 -2147483648 1 2 -2147483648 -268435456"#,
            ),
            (
                r#"return bit.rshift(-1, 0), bit.rshift(-1, 1), bit.rshift(-1, 31), bit.rshift(0x80000000, 31), bit.rshift(256, 36)"#,
                r#"6:true -1 2147483647 1 1 16"#,
            ),
            (
                r#"return bit.arshift(-1, 1), bit.arshift(-256, 4), bit.arshift(0x80000000, 31), bit.arshift(0x7fffffff, 30), bit.arshift(-8, 33)"#,
                r#"6:true -1 -16 -1 1 -4"#,
            ),
            (
                r#"return bit.rol(1, 1), bit.rol(0x80000000, 1), bit.rol(0x12345678, 8), bit.rol(0x12345678, 0), bit.rol(0x12345678, 32)"#,
                r#"6:true 2 1 878082066 305419896 305419896"#,
            ),
            (
                r#"return bit.ror(1, 1), bit.ror(0x12345678, 8), bit.ror(0x12345678, 36), bit.ror(-1, 7)"#,
                r#"5:true -2147483648 2014458966 -2128394905 -1"#,
            ),
        ]);
    }

    #[test]
    fn bswap_and_tohex() {
        check_cases(&[
            (
                r#"return bit.bswap(0x12345678), bit.bswap(-1), bit.bswap(0), bit.bswap(0xff)"#,
                r#"5:true 2018915346 -1 0 -16777216"#,
            ),
            (
                r#"return bit.tohex(1), bit.tohex(-1), bit.tohex(0x12345678), bit.tohex(255, 2), bit.tohex(255, -2)"#,
                r#"6:true "00000001" "ffffffff" "12345678" "ff" "FF""#,
            ),
            (
                r#"return bit.tohex(-1, -4), bit.tohex(255, 0), bit.tohex(0xabcdef, 12), bit.tohex(0xabcdef, -12), bit.tohex(2^32 + 0xbeef, 4)"#,
                r#"6:true "FFFF" "" "00abcdef" "00ABCDEF" "beef""#,
            ),
            (
                r#"return bit.tohex(1, 2.5), bit.tohex(1, 3.5), bit.tohex(1, "3")"#,
                r#"4:true "01" "0001" "001""#,
            ),
        ]);
    }

    #[test]
    fn differential_random_operands() {
        check_cases(&[(
            r#"local seed = 9 local function rnd(n) seed = (seed * 1103515245 + 12345) % 2147483648 return math.floor(seed / 65536) % n end local function num() local k = rnd(4) if k == 0 then return rnd(65536) * 65536 + rnd(65536) - 2^31 elseif k == 1 then return (rnd(2^15) - 2^14) * 2 ^ (rnd(80) - 20) elseif k == 2 then return rnd(64) - 32 else return (rnd(65536) / 7) * (rnd(2) * 2 - 1) end end local function h(s, x) for i = 1, #s do x = (x * 31 + s:byte(i)) % 2147483647 end return x end local out = {} for i = 1, 1500 do local a, b, c = num(), num(), num() out[i] = table.concat({bit.tobit(a), bit.bnot(a), bit.band(a, b, c), bit.bor(a, b), bit.bxor(a, b, c), bit.lshift(a, b), bit.rshift(a, b), bit.arshift(a, b), bit.rol(a, b), bit.ror(a, b), bit.bswap(a), bit.tohex(a, b)}, ",") end local s = table.concat(out, "|") return #s, h(s, 7), out[1], out[2]"#,
            r#"5:true 121159 194973715 "-1416423417,1416423416,0,-1416423417,560166208,-1416423417,-1416423417,-1416423417,-1416423417,-1416423417,119051179," "-287703031,287703030,645922816,-393207,646316026,-287703031,-287703031,-287703031,-287703031,-287703031,151050990,eeda0009""#,
        )]);
    }

    // END REDIS CASES
}
