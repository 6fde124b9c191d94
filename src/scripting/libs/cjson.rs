//! `cjson`: Lua CJSON 2.1.0 as Redis ships it — JSON encoding and decoding plus the
//! configuration functions, each module instance (`cjson`, or one made by `cjson.new()`)
//! with its own settings.
//!
//! Encoding: a table whose keys are all positive integers is an array (holes become `null`),
//! unless it is "excessively sparse"; every other table, including the empty one, is an object
//! in `next` order with number keys written as strings. Numbers use `%.14g` (the precision is
//! configurable), strings escape `"` `\` `/`, control characters and DEL. `nil` and
//! `cjson.null` (a NULL light userdata) are `null`.
//!
//! Decoding follows the C tokeniser: numbers go through a `strtod` equivalent, so with the
//! default `decode_invalid_numbers` hex, `inf`/`nan` and leading `+` or zeros are accepted; the
//! input ends at its first NUL byte; `null` decodes to `cjson.null`.
//!
//! Both directions walk nested tables without recursion and count the Lua stack slots the C
//! code would use, so depth errors (`encode_max_depth`, `decode_max_depth`, and the C stack
//! limit beyond them) hit on the same input with the same messages.
//!
//! Deliberate differences: `encode_keep_buffer` only records its setting (there is no shared
//! buffer to keep); output over [`MAX_OUTPUT`] bytes is "not enough memory".

use std::sync::{Arc, Mutex, PoisonError};

use mlua::{Lua, Table, Value};

use super::{
    add_function, c_double_to_i32, number_value, table_next, type_name, Args, Failure, LibResult,
    Nest, Reply, C_STACK_SLOTS, MAX_OUTPUT,
};

/// How `encode` treats NaN and infinities.
#[derive(Clone, Copy, PartialEq)]
enum InvalidNumbers {
    /// Raise "must not be NaN or Inf" (the default).
    Off,
    /// Write `inf`, `-inf`, `nan` (not valid JSON).
    On,
    /// Write `null`.
    Null,
}

/// One module instance's settings; the defaults are Redis's.
#[derive(Clone, Copy)]
struct Config {
    /// Encode excessively sparse arrays as objects instead of failing. Default off.
    sparse_convert: bool,
    /// An array is excessively sparse when its largest index exceeds `ratio * items` (and
    /// `safe`). Default 2; 0 disables the check. Bounds 0..=INT_MAX.
    sparse_ratio: i32,
    /// Arrays with largest index up to this are never excessively sparse. Default 10.
    sparse_safe: i32,
    /// Deepest table nesting `encode` accepts. Default 1000, bounds 1..=INT_MAX.
    encode_max_depth: i32,
    /// Deepest nesting `decode` accepts. Default 1000, bounds 1..=INT_MAX.
    decode_max_depth: i32,
    encode_invalid_numbers: InvalidNumbers,
    /// Accept hex, `inf`, `nan`, leading `+` and leading zeros. Default on.
    decode_invalid_numbers: bool,
    /// Recorded and reported only. Default on.
    encode_keep_buffer: bool,
    /// Significant digits of encoded numbers. Default 14, bounds 1..=14.
    encode_number_precision: i32,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            sparse_convert: false,
            sparse_ratio: 2,
            sparse_safe: 10,
            encode_max_depth: 1000,
            decode_max_depth: 1000,
            encode_invalid_numbers: InvalidNumbers::Off,
            decode_invalid_numbers: true,
            encode_keep_buffer: true,
            encode_number_precision: 14,
        }
    }
}

type Shared = Arc<Mutex<Config>>;

fn read(cfg: &Shared) -> Config {
    *cfg.lock().unwrap_or_else(PoisonError::into_inner)
}

fn update(cfg: &Shared, f: impl FnOnce(&mut Config)) {
    f(&mut cfg.lock().unwrap_or_else(PoisonError::into_inner));
}

/// Builds a `cjson` table with fresh settings (also what `cjson.new()` returns).
pub(crate) fn module(lua: &Lua) -> mlua::Result<Table> {
    let t = lua.create_table()?;
    let cfg: Shared = Arc::default();
    let add = |name, f: WithConfig| {
        let cfg = cfg.clone();
        add_function(lua, &t, name, move |lua, args| f(lua, &args, &cfg))
    };
    add("encode", |lua, args, cfg| encode(lua, args, read(cfg)))?;
    add("decode", |lua, args, cfg| decode(lua, args, read(cfg)))?;
    add("encode_sparse_array", sparse_array)?;
    add("encode_max_depth", |_, args, cfg| {
        integer_setting(args, cfg, 1, i32::MAX, |c| &mut c.encode_max_depth)
    })?;
    add("decode_max_depth", |_, args, cfg| {
        integer_setting(args, cfg, 1, i32::MAX, |c| &mut c.decode_max_depth)
    })?;
    add("encode_number_precision", |_, args, cfg| {
        integer_setting(args, cfg, 1, 14, |c| &mut c.encode_number_precision)
    })?;
    add("encode_keep_buffer", |lua, args, cfg| {
        bool_setting(lua, args, cfg, |c| &mut c.encode_keep_buffer)
    })?;
    add("decode_invalid_numbers", |lua, args, cfg| {
        bool_setting(lua, args, cfg, |c| &mut c.decode_invalid_numbers)
    })?;
    add("encode_invalid_numbers", invalid_numbers_setting)?;
    add_function(lua, &t, "new", |lua, _| {
        Reply::one(Value::Table(module(lua)?))
    })?;
    t.raw_set("null", Value::NULL)?;
    t.raw_set("_NAME", "cjson")?;
    t.raw_set("_VERSION", "2.1.0")?;
    Ok(t)
}

/// A module function that reads or changes its instance's settings.
type WithConfig = fn(&Lua, &Args, &Shared) -> LibResult<Reply>;

// ---------------------------------------------------------------------------------------
// Configuration functions. Each takes optional new values and returns the current ones.

/// The C `json_arg_init`: at most `max` arguments.
fn check_arg_count(args: &Args, max: usize) -> LibResult<()> {
    if args.len() > max {
        return Err(Failure::arg(max + 1, "found too many arguments"));
    }
    Ok(())
}

/// The C `json_integer_option`: a new value in `min..=max` when the argument is not nil. The
/// number is cut to a C `int`, and a bad value is always blamed on argument #1 (as in C).
fn integer_option(
    args: &Args,
    i: usize,
    setting: &mut i32,
    min: i32,
    max: i32,
) -> LibResult<Value> {
    if !args.is_none_or_nil(i)? {
        let value = args.check_integer(i)? as i32;
        if !(min..=max).contains(&value) {
            return Err(Failure::arg(
                1,
                format!("expected integer between {min} and {max}"),
            ));
        }
        *setting = value;
    }
    Ok(Value::Integer(i64::from(*setting)))
}

/// The C `json_enum_option`: a boolean, or one of `options` by name, when not nil. Returns the
/// index chosen (or kept) and its Lua form: a boolean for 0 and 1, else the option's name.
fn enum_option(
    lua: &Lua,
    args: &Args,
    i: usize,
    setting: &mut usize,
    options: &[&str],
) -> LibResult<Value> {
    match args.get(i)? {
        None | Some(Value::Nil) => {}
        Some(Value::Boolean(b)) => *setting = usize::from(b),
        Some(_) => {
            let s = args.check_string(i)?;
            let bytes = s.as_bytes();
            // `luaL_checkoption` compares C strings: the name ends at a NUL byte.
            let name = &bytes[..bytes.iter().position(|&b| b == 0).unwrap_or(bytes.len())];
            *setting = options
                .iter()
                .position(|o| o.as_bytes() == name)
                .ok_or_else(|| {
                    let mut msg = b"invalid option '".to_vec();
                    msg.extend_from_slice(name);
                    msg.push(b'\'');
                    Failure::Arg(i as i32, msg)
                })?;
        }
    }
    Ok(match *setting {
        0 | 1 => Value::Boolean(*setting == 1),
        n => Value::String(lua.create_string(options.get(n).copied().unwrap_or(""))?),
    })
}

const ON_OFF: &[&str] = &["off", "on"];

/// `encode_sparse_array([convert [, ratio [, safe]]])`. Like the C code, each setting is
/// stored as soon as it is read, so a bad later argument leaves the earlier ones changed.
fn sparse_array(lua: &Lua, args: &Args, cfg: &Shared) -> LibResult<Reply> {
    check_arg_count(args, 3)?;
    let current = read(cfg);
    let mut convert = usize::from(current.sparse_convert);
    let convert_out = enum_option(lua, args, 1, &mut convert, ON_OFF)?;
    update(cfg, |c| c.sparse_convert = convert == 1);
    let mut ratio = current.sparse_ratio;
    let ratio_out = integer_option(args, 2, &mut ratio, 0, i32::MAX)?;
    update(cfg, |c| c.sparse_ratio = ratio);
    let mut safe = current.sparse_safe;
    let safe_out = integer_option(args, 3, &mut safe, 0, i32::MAX)?;
    update(cfg, |c| c.sparse_safe = safe);
    Reply::many(vec![convert_out, ratio_out, safe_out])
}

/// `encode_max_depth`, `decode_max_depth`, `encode_number_precision`.
fn integer_setting(
    args: &Args,
    cfg: &Shared,
    min: i32,
    max: i32,
    field: fn(&mut Config) -> &mut i32,
) -> LibResult<Reply> {
    check_arg_count(args, 1)?;
    let mut v = *field(&mut read(cfg));
    let out = integer_option(args, 1, &mut v, min, max)?;
    update(cfg, |shared| *field(shared) = v);
    Reply::many(vec![out])
}

/// `encode_keep_buffer` / `decode_invalid_numbers`: on/off settings.
fn bool_setting(
    lua: &Lua,
    args: &Args,
    cfg: &Shared,
    field: fn(&mut Config) -> &mut bool,
) -> LibResult<Reply> {
    check_arg_count(args, 1)?;
    let mut v = usize::from(*field(&mut read(cfg)));
    let out = enum_option(lua, args, 1, &mut v, ON_OFF)?;
    update(cfg, |shared| *field(shared) = v == 1);
    Reply::many(vec![out])
}

/// `encode_invalid_numbers`: `true`/`"on"`, `false`/`"off"` or `"null"`.
fn invalid_numbers_setting(lua: &Lua, args: &Args, cfg: &Shared) -> LibResult<Reply> {
    check_arg_count(args, 1)?;
    const MODES: [InvalidNumbers; 3] = [
        InvalidNumbers::Off,
        InvalidNumbers::On,
        InvalidNumbers::Null,
    ];
    let current = read(cfg).encode_invalid_numbers;
    let mut v = MODES.iter().position(|m| *m == current).unwrap_or(0);
    let out = enum_option(lua, args, 1, &mut v, &["off", "on", "null"])?;
    update(cfg, |shared| {
        shared.encode_invalid_numbers = MODES.get(v).copied().unwrap_or(InvalidNumbers::Off)
    });
    Reply::many(vec![out])
}

// ---------------------------------------------------------------------------------------
// Encoding.

/// `cjson.encode(value)`.
fn encode(lua: &Lua, args: &Args, cfg: Config) -> LibResult<Reply> {
    if args.len() != 1 {
        return Err(Failure::arg(1, "expected 1 argument"));
    }
    let value = args.get(1)?.unwrap_or(Value::Nil);
    let mut encoder = Encoder {
        lua,
        cfg,
        out: Vec::new(),
        nest: Nest::new(lua),
        slots: 1,
    };
    encoder.run(value)?;
    Reply::one(Value::String(lua.create_string(&encoder.out)?))
}

/// Per-level state of the encoder. Objects resume `next` from the key kept in the [`Nest`].
enum Open {
    Array { len: i64, next: i64 },
    Object { first: bool },
}

struct Encoder<'a> {
    lua: &'a Lua,
    cfg: Config,
    out: Vec<u8>,
    nest: Nest<'a, Open>,
    /// Lua stack slots the C encoder would occupy: its argument, then per open array the
    /// element being encoded, per open object the key and value.
    slots: usize,
}

/// "Cannot serialise <type>: <reason>", the C `json_encode_exception`.
fn cannot_serialise(v: &Value, reason: &str) -> Failure {
    Failure::error(format!("Cannot serialise {}: {reason}", type_name(v)))
}

impl Encoder<'_> {
    fn run(&mut self, value: Value) -> LibResult<()> {
        self.value(value)?;
        while let Some((table, key, open)) = self.nest.top_mut() {
            let item = match open {
                Open::Array { len, next } => {
                    if *next > *len {
                        None
                    } else {
                        if *next > 1 {
                            self.out.push(b',');
                        }
                        *next += 1;
                        Some(table.raw_get::<Value>(*next - 1)?)
                    }
                }
                Open::Object { first } => match table_next(self.lua, table, key.clone())? {
                    None => None,
                    Some((k, v)) => {
                        if !std::mem::take(first) {
                            self.out.push(b',');
                        }
                        *key = k.clone();
                        self.key(&k)?;
                        Some(v)
                    }
                },
            };
            match item {
                Some(v) => self.value(v)?,
                None => self.close()?,
            }
            if self.out.len() > MAX_OUTPUT {
                return Err(Failure::out_of_memory());
            }
        }
        Ok(())
    }

    /// Writes a scalar, or opens a table (whose items the main loop then writes).
    fn value(&mut self, v: Value) -> LibResult<()> {
        match &v {
            Value::String(s) => append_string(&mut self.out, &s.as_bytes())?,
            Value::Integer(_) | Value::Number(_) => {
                self.number(number_value(&v).unwrap_or(0.0), &v)?;
            }
            Value::Boolean(b) => self
                .out
                .extend_from_slice(if *b { b"true" } else { b"false" }),
            Value::Nil => self.out.extend_from_slice(b"null"),
            Value::LightUserData(ud) if ud.0.is_null() => self.out.extend_from_slice(b"null"),
            Value::Table(t) => self.open(t.clone())?,
            _ => return Err(cannot_serialise(&v, "type not supported")),
        }
        Ok(())
    }

    /// Object keys: strings as they are, numbers formatted and quoted.
    fn key(&mut self, k: &Value) -> LibResult<()> {
        match k {
            Value::String(s) => append_string(&mut self.out, &s.as_bytes())?,
            Value::Integer(_) | Value::Number(_) => {
                self.out.push(b'"');
                self.number(number_value(k).unwrap_or(0.0), k)?;
                self.out.push(b'"');
            }
            _ => return Err(cannot_serialise(k, "table key must be a number or string")),
        }
        self.out.push(b':');
        Ok(())
    }

    fn number(&mut self, n: f64, v: &Value) -> LibResult<()> {
        if !n.is_finite() {
            match self.cfg.encode_invalid_numbers {
                InvalidNumbers::Off => return Err(cannot_serialise(v, "must not be NaN or Inf")),
                InvalidNumbers::Null => {
                    self.out.extend_from_slice(b"null");
                    return Ok(());
                }
                // Some C libraries print "-nan"; cjson always writes "nan".
                InvalidNumbers::On if n.is_nan() => {
                    self.out.extend_from_slice(b"nan");
                    return Ok(());
                }
                InvalidNumbers::On => {}
            }
        }
        let precision = self.cfg.encode_number_precision.clamp(1, 14) as usize;
        self.out
            .extend_from_slice(format_g(n, precision).as_bytes());
        Ok(())
    }

    fn open(&mut self, table: Table) -> LibResult<()> {
        let depth = self.nest.depth() + 1;
        let depth_ok = i32::try_from(depth).is_ok_and(|d| d <= self.cfg.encode_max_depth);
        if !depth_ok || self.slots + 3 > C_STACK_SLOTS {
            return Err(Failure::error(format!(
                "Cannot serialise, excessive nesting ({depth})"
            )));
        }
        match array_length(&table, &self.cfg)? {
            Some(len) if len > 0 => {
                self.out.push(b'[');
                self.slots += 1;
                self.nest.push(
                    table,
                    Open::Array {
                        len: i64::from(len),
                        next: 1,
                    },
                )
            }
            _ => {
                self.out.push(b'{');
                self.slots += 2;
                self.nest.push(table, Open::Object { first: true })
            }
        }
    }

    fn close(&mut self) -> LibResult<()> {
        if let Some((_, open)) = self.nest.pop()? {
            match open {
                Open::Array { .. } => {
                    self.out.push(b']');
                    self.slots = self.slots.saturating_sub(1);
                }
                Open::Object { .. } => {
                    self.out.push(b'}');
                    self.slots = self.slots.saturating_sub(2);
                }
            }
        }
        Ok(())
    }
}

/// The C `lua_array_length`: `Some(max key)` when every key is a positive integral number,
/// `None` when the table must be an object. The largest key is kept in a C `int` (a key of
/// 2^31 or more turns it negative, and so the table into an object), as the C code does.
fn array_length(t: &Table, cfg: &Config) -> LibResult<Option<i32>> {
    let (mut max, mut items) = (0i32, 0i32);
    for pair in t.pairs::<Value, Value>() {
        let (k, _) = pair?;
        match number_value(&k) {
            Some(n) if n != 0.0 && n.floor() == n && n >= 1.0 => {
                if n > f64::from(max) {
                    max = c_double_to_i32(n);
                }
                items = items.wrapping_add(1);
            }
            _ => return Ok(None),
        }
    }
    if cfg.sparse_ratio > 0 && max > items.wrapping_mul(cfg.sparse_ratio) && max > cfg.sparse_safe {
        if !cfg.sparse_convert {
            return Err(Failure::error(
                "Cannot serialise table: excessively sparse array",
            ));
        }
        return Ok(None);
    }
    Ok(Some(max))
}

/// Appends `s` as a JSON string. Bytes from 0x80 up pass through untouched (no UTF-8 check).
/// Escaping can grow a string sixfold, so the output bound is checked as it grows.
fn append_string(out: &mut Vec<u8>, s: &[u8]) -> LibResult<()> {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    out.push(b'"');
    for chunk in s.chunks(1 << 16) {
        if out.len() > MAX_OUTPUT {
            return Err(Failure::out_of_memory());
        }
        out.reserve(chunk.len());
        for &b in chunk {
            match b {
                b'"' => out.extend_from_slice(b"\\\""),
                b'\\' => out.extend_from_slice(b"\\\\"),
                b'/' => out.extend_from_slice(b"\\/"),
                0x08 => out.extend_from_slice(b"\\b"),
                0x09 => out.extend_from_slice(b"\\t"),
                0x0a => out.extend_from_slice(b"\\n"),
                0x0c => out.extend_from_slice(b"\\f"),
                0x0d => out.extend_from_slice(b"\\r"),
                0x00..=0x1f | 0x7f => {
                    out.extend_from_slice(b"\\u00");
                    out.push(HEX[usize::from(b >> 4)]);
                    out.push(HEX[usize::from(b & 15)]);
                }
                _ => out.push(b),
            }
        }
    }
    out.push(b'"');
    Ok(())
}

/// C's `printf("%.<precision>g", n)`: `precision` significant digits, trailing zeros removed,
/// exponent form when the exponent is below -4 or at least `precision`. `precision` >= 1.
pub(crate) fn format_g(n: f64, precision: usize) -> String {
    if n.is_nan() {
        return if n.is_sign_negative() { "-nan" } else { "nan" }.to_string();
    }
    if n.is_infinite() {
        return if n < 0.0 { "-inf" } else { "inf" }.to_string();
    }
    if n == 0.0 {
        return if n.is_sign_negative() { "-0" } else { "0" }.to_string();
    }
    // Rust's exponent formatting rounds the exact binary value half-to-even, as glibc does.
    let sci = format!("{:.*e}", precision - 1, n);
    let (mantissa, exp) = sci.split_once('e').unwrap_or((&sci, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let negative = mantissa.starts_with('-');
    let digits: String = mantissa.chars().filter(char::is_ascii_digit).collect();
    let mut out = String::with_capacity(precision + 8);
    if negative {
        out.push('-');
    }
    if exp < -4 || exp >= precision as i32 {
        let (first, rest) = digits.split_at(1);
        out.push_str(first);
        let rest = rest.trim_end_matches('0');
        if !rest.is_empty() {
            out.push('.');
            out.push_str(rest);
        }
        out.push_str(&format!(
            "e{}{:02}",
            if exp < 0 { '-' } else { '+' },
            exp.unsigned_abs()
        ));
    } else if exp >= 0 {
        let (int, frac) = digits.split_at((exp as usize + 1).min(digits.len()));
        out.push_str(int);
        let frac = frac.trim_end_matches('0');
        if !frac.is_empty() {
            out.push('.');
            out.push_str(frac);
        }
    } else {
        out.push_str("0.");
        out.extend(std::iter::repeat_n('0', (-exp - 1) as usize));
        out.push_str(digits.trim_end_matches('0'));
    }
    out
}

// ---------------------------------------------------------------------------------------
// Decoding.

/// `cjson.decode(text)`.
fn decode(lua: &Lua, args: &Args, cfg: Config) -> LibResult<Reply> {
    if args.len() != 1 {
        return Err(Failure::arg(1, "expected 1 argument"));
    }
    let text = args.check_string(1)?;
    let data = text.as_bytes();
    // The C check for UTF-16/32: JSON text starts with an ASCII character, so a NUL in the
    // first two bytes means a wider encoding.
    if data.len() >= 2 && (data[0] == 0 || data[1] == 0) {
        return Err(Failure::error(
            "JSON parser does not support UTF-16 or UTF-32",
        ));
    }
    let mut decoder = Decoder {
        lua,
        cfg,
        data: &data,
        pos: 0,
        depth: 0,
        slots: 1,
        nest: Nest::new(lua),
    };
    let first = decoder.next_token();
    let value = decoder.value(first)?;
    let end = decoder.next_token();
    if !matches!(end.kind, Kind::End) {
        return Err(decoder.unexpected("the end", &end));
    }
    Reply::one(value)
}

/// A token, with where it starts (or, for errors, where the problem is).
struct Token {
    kind: Kind,
    index: usize,
}

enum Kind {
    ObjBegin,
    ObjEnd,
    ArrBegin,
    ArrEnd,
    Str(Vec<u8>),
    Number(f64),
    Boolean(bool),
    Null,
    Colon,
    Comma,
    End,
    Error(&'static str),
}

impl Kind {
    /// The C token names, which appear in error messages ("found T_END").
    fn name(&self) -> &'static str {
        match self {
            Kind::ObjBegin => "T_OBJ_BEGIN",
            Kind::ObjEnd => "T_OBJ_END",
            Kind::ArrBegin => "T_ARR_BEGIN",
            Kind::ArrEnd => "T_ARR_END",
            Kind::Str(_) => "T_STRING",
            Kind::Number(_) => "T_NUMBER",
            Kind::Boolean(_) => "T_BOOLEAN",
            Kind::Null => "T_NULL",
            Kind::Colon => "T_COLON",
            Kind::Comma => "T_COMMA",
            Kind::End => "T_END",
            Kind::Error(msg) => msg,
        }
    }
}

/// The single-character tokens.
fn punctuation(ch: u8) -> Option<Kind> {
    Some(match ch {
        b'{' => Kind::ObjBegin,
        b'}' => Kind::ObjEnd,
        b'[' => Kind::ArrBegin,
        b']' => Kind::ArrEnd,
        b',' => Kind::Comma,
        b':' => Kind::Colon,
        _ => return None,
    })
}

fn error_token(msg: &'static str, index: usize) -> Token {
    Token {
        kind: Kind::Error(msg),
        index,
    }
}

/// Per-level state of the decoder; an object's pending key is kept in the [`Nest`].
enum Container {
    Array { next: i64 },
    Object,
}

struct Decoder<'a> {
    lua: &'a Lua,
    cfg: Config,
    data: &'a [u8],
    pos: usize,
    depth: i32,
    /// Lua stack slots the C decoder would occupy: its argument, then per open array its
    /// table, per open object its table and pending key.
    slots: usize,
    nest: Nest<'a, Container>,
}

impl Decoder<'_> {
    /// The byte at `i`, with 0 past the end: the C code reads a NUL-terminated string.
    fn byte(&self, i: usize) -> u8 {
        self.data.get(i).copied().unwrap_or(0)
    }

    fn unexpected(&self, expected: &str, token: &Token) -> Failure {
        Failure::error(format!(
            "Expected {expected} but found {} at character {}",
            token.kind.name(),
            token.index + 1
        ))
    }

    /// The C `json_next_token`: skips JSON whitespace and reads one token. Problems become
    /// error tokens, reported by whoever expected something else.
    fn next_token(&mut self) -> Token {
        while matches!(self.byte(self.pos), b' ' | b'\t' | b'\n' | b'\r') {
            self.pos += 1;
        }
        let index = self.pos;
        let ch = self.byte(index);
        if ch == 0 {
            return Token {
                kind: Kind::End,
                index,
            };
        }
        if let Some(kind) = punctuation(ch) {
            self.pos += 1;
            return Token { kind, index };
        }
        let rest = &self.data[index..];
        match ch {
            b'"' => self.string_token(),
            b'-' | b'0'..=b'9' => {
                if !self.cfg.decode_invalid_numbers && self.is_invalid_number() {
                    return error_token("invalid number", index);
                }
                self.number_token()
            }
            b't' if rest.starts_with(b"true") => self.word(Kind::Boolean(true), 4),
            b'f' if rest.starts_with(b"false") => self.word(Kind::Boolean(false), 5),
            b'n' if rest.starts_with(b"null") => self.word(Kind::Null, 4),
            b'i' | b'I' | b'n' | b'N' | b'+'
                if self.cfg.decode_invalid_numbers && self.is_invalid_number() =>
            {
                self.number_token()
            }
            _ => error_token("invalid token", index),
        }
    }

    fn word(&mut self, kind: Kind, len: usize) -> Token {
        let index = self.pos;
        self.pos += len;
        Token { kind, index }
    }

    /// The C `json_is_invalid_number`: forms `strtod` takes but strict JSON does not.
    fn is_invalid_number(&self) -> bool {
        let mut p = self.pos;
        if self.byte(p) == b'+' {
            return true;
        }
        if self.byte(p) == b'-' {
            p += 1;
        }
        let ch = self.byte(p);
        if ch == b'0' {
            let next = self.byte(p + 1);
            return next | 0x20 == b'x' || next.is_ascii_digit();
        }
        if ch <= b'9' {
            return false;
        }
        let rest = &self.data[p.min(self.data.len())..];
        starts_with_ignore_case(rest, b"inf") || starts_with_ignore_case(rest, b"nan")
    }

    fn number_token(&mut self) -> Token {
        let index = self.pos;
        let (value, used) = strtod(&self.data[index..]);
        if used == 0 {
            return error_token("invalid number", index);
        }
        self.pos += used;
        Token {
            kind: Kind::Number(value),
            index,
        }
    }

    /// A string token; escapes are decoded, other bytes (control characters included) are
    /// taken as they are.
    fn string_token(&mut self) -> Token {
        let start = self.pos;
        self.pos += 1;
        let mut s = Vec::new();
        loop {
            let ch = self.byte(self.pos);
            match ch {
                b'"' => break,
                0 => return self.error_here("unexpected end of string"),
                b'\\' => {
                    let decoded = match self.byte(self.pos + 1) {
                        b'"' => b'"',
                        b'\\' => b'\\',
                        b'/' => b'/',
                        b'b' => 0x08,
                        b't' => b'\t',
                        b'n' => b'\n',
                        b'f' => 0x0c,
                        b'r' => b'\r',
                        b'u' => {
                            if !self.unicode_escape(&mut s) {
                                return self.error_here("invalid unicode escape code");
                            }
                            continue;
                        }
                        _ => return self.error_here("invalid escape code"),
                    };
                    s.push(decoded);
                    self.pos += 2;
                }
                _ => {
                    s.push(ch);
                    self.pos += 1;
                }
            }
        }
        self.pos += 1;
        Token {
            kind: Kind::Str(s),
            index: start,
        }
    }

    fn error_here(&self, msg: &'static str) -> Token {
        error_token(msg, self.pos)
    }

    /// Four hex digits at `at`, as a UTF-16 code unit.
    fn hex4(&self, at: usize) -> Option<u32> {
        (0..4).try_fold(0u32, |acc, i| {
            let d = char::from(self.byte(at + i)).to_digit(16)?;
            Some(acc << 4 | d)
        })
    }

    /// Decodes `\uXXXX` (or a `\uD8XX\uDCXX` surrogate pair) at the current position to UTF-8.
    /// A lone or reversed surrogate is an error, as in the C code.
    fn unicode_escape(&mut self, s: &mut Vec<u8>) -> bool {
        let Some(mut code) = self.hex4(self.pos + 2) else {
            return false;
        };
        let mut len = 6;
        if code & 0xf800 == 0xd800 {
            if code & 0x400 != 0
                || self.byte(self.pos + 6) != b'\\'
                || self.byte(self.pos + 7) != b'u'
            {
                return false;
            }
            let Some(low) = self.hex4(self.pos + 8) else {
                return false;
            };
            if low & 0xfc00 != 0xdc00 {
                return false;
            }
            code = (((code & 0x3ff) << 10) | (low & 0x3ff)) + 0x10000;
            len = 12;
        }
        let Some(c) = char::from_u32(code) else {
            return false;
        };
        let mut buf = [0u8; 4];
        s.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
        self.pos += len;
        true
    }

    /// Entering an array (2 slots) or object (3 slots), under both the configured depth and
    /// the C stack limit.
    fn descend(&mut self, slots: usize) -> LibResult<()> {
        self.depth += 1;
        if self.depth <= self.cfg.decode_max_depth && self.slots + slots <= C_STACK_SLOTS {
            return Ok(());
        }
        Err(Failure::error(format!(
            "Found too many nested data structures ({}) at character {}",
            self.depth, self.pos
        )))
    }

    /// Parses the value starting with `token` (and everything nested in it).
    fn value(&mut self, mut token: Token) -> LibResult<Value> {
        loop {
            let mut value = match token.kind {
                Kind::Str(s) => Value::String(self.lua.create_string(&s)?),
                Kind::Number(n) => Value::Number(n),
                Kind::Boolean(b) => Value::Boolean(b),
                Kind::Null => Value::NULL,
                Kind::ArrBegin => {
                    self.descend(2)?;
                    let table = self.lua.create_table()?;
                    token = self.next_token();
                    if matches!(token.kind, Kind::ArrEnd) {
                        self.depth -= 1;
                        Value::Table(table)
                    } else {
                        self.slots += 1;
                        self.nest.push(table, Container::Array { next: 1 })?;
                        continue;
                    }
                }
                Kind::ObjBegin => {
                    self.descend(3)?;
                    let table = self.lua.create_table()?;
                    token = self.next_token();
                    if matches!(token.kind, Kind::ObjEnd) {
                        self.depth -= 1;
                        Value::Table(table)
                    } else {
                        self.slots += 2;
                        self.nest.push(table, Container::Object)?;
                        token = self.object_key(token)?;
                        continue;
                    }
                }
                _ => return Err(self.unexpected("value", &token)),
            };
            // Store the value in its container; a container that ends is a value in turn.
            loop {
                let Some((table, key, container)) = self.nest.top_mut() else {
                    return Ok(value);
                };
                match container {
                    Container::Array { next } => {
                        table.raw_set(*next, value)?;
                        *next += 1;
                    }
                    Container::Object => table.raw_set(std::mem::take(key), value)?,
                }
                let is_array = matches!(container, Container::Array { .. });
                token = self.next_token();
                match (&token.kind, is_array) {
                    (Kind::ArrEnd, true) | (Kind::ObjEnd, false) => {
                        let Some((table, _)) = self.nest.pop()? else {
                            return Ok(Value::Nil);
                        };
                        self.depth -= 1;
                        self.slots = self.slots.saturating_sub(if is_array { 1 } else { 2 });
                        value = Value::Table(table);
                    }
                    (Kind::Comma, _) => {
                        token = self.next_token();
                        if !is_array {
                            token = self.object_key(token)?;
                        }
                        break;
                    }
                    (_, true) => return Err(self.unexpected("comma or array end", &token)),
                    (_, false) => return Err(self.unexpected("comma or object end", &token)),
                }
            }
        }
    }

    /// Reads `"key" :` (the key token is given), stores the key in the open object and
    /// returns the token starting its value.
    fn object_key(&mut self, token: Token) -> LibResult<Token> {
        let Kind::Str(name) = &token.kind else {
            return Err(self.unexpected("object key string", &token));
        };
        let key = Value::String(self.lua.create_string(name)?);
        let colon = self.next_token();
        if !matches!(colon.kind, Kind::Colon) {
            return Err(self.unexpected("colon", &colon));
        }
        if let Some((_, slot, _)) = self.nest.top_mut() {
            *slot = key;
        }
        Ok(self.next_token())
    }
}

fn starts_with_ignore_case(s: &[u8], prefix: &[u8]) -> bool {
    s.len() >= prefix.len() && s[..prefix.len()].eq_ignore_ascii_case(prefix)
}

/// glibc's `strtod` in the C locale on `s` (which starts at a non-space): the value and the
/// number of bytes it used, 0 when there is no number. Covers decimal and hex forms,
/// `inf`/`infinity` and `nan`/`nan(chars)`.
pub(crate) fn strtod(s: &[u8]) -> (f64, usize) {
    let at = |i: usize| s.get(i).copied().unwrap_or(0);
    let (negative, start) = match at(0) {
        b'-' => (true, 1),
        b'+' => (false, 1),
        _ => (false, 0),
    };
    let rest = &s[start.min(s.len())..];
    let (magnitude, used) = if starts_with_ignore_case(rest, b"inf") {
        let len = if starts_with_ignore_case(rest, b"infinity") {
            8
        } else {
            3
        };
        (f64::INFINITY, len)
    } else if starts_with_ignore_case(rest, b"nan") {
        parse_nan(rest)
    } else if at(start) == b'0' && at(start + 1) | 0x20 == b'x' && hex_float_starts(&rest[2..]) {
        let (v, len) = parse_hex(&rest[2..]);
        (v, len + 2)
    } else {
        parse_decimal(rest)
    };
    if used == 0 {
        return (0.0, 0);
    }
    (if negative { -magnitude } else { magnitude }, start + used)
}

/// `nan`, optionally followed by `(n-char-sequence)`; glibc turns a sequence that reads as an
/// integer (base prefix allowed) into the NaN's payload.
fn parse_nan(s: &[u8]) -> (f64, usize) {
    const QUIET_NAN: u64 = 0x7ff8_0000_0000_0000;
    let chars = s[3..].strip_prefix(b"(").map(|inner| {
        let len = inner
            .iter()
            .take_while(|b| b.is_ascii_alphanumeric() || **b == b'_')
            .count();
        (inner, len)
    });
    match chars {
        Some((inner, len)) if inner.get(len) == Some(&b')') => {
            let payload = parse_c_integer(&inner[..len]).unwrap_or(0) & 0x0007_ffff_ffff_ffff;
            (f64::from_bits(QUIET_NAN | payload), 3 + len + 2)
        }
        _ => (f64::from_bits(QUIET_NAN), 3),
    }
}

/// `strtoull(s, &end, 0)` when it uses all of `s`: decimal, `0x` hex or `0` octal, saturating.
fn parse_c_integer(s: &[u8]) -> Option<u64> {
    let (digits, radix) = if s.len() > 2 && s[0] == b'0' && s[1] | 0x20 == b'x' {
        (&s[2..], 16)
    } else if s.len() > 1 && s[0] == b'0' {
        (&s[1..], 8)
    } else {
        (s, 10)
    };
    if digits.is_empty() {
        return if s.is_empty() { None } else { Some(0) };
    }
    digits.iter().try_fold(0u64, |acc, &b| {
        let d = char::from(b).to_digit(radix)?;
        Some(
            acc.saturating_mul(u64::from(radix))
                .saturating_add(u64::from(d)),
        )
    })
}

fn hex_float_starts(s: &[u8]) -> bool {
    match s.first() {
        Some(b) if b.is_ascii_hexdigit() => true,
        Some(b'.') => s.get(1).is_some_and(u8::is_ascii_hexdigit),
        _ => false,
    }
}

/// The decimal form: digits with an optional point (at least one digit), then an optional
/// exponent that counts only when it has digits.
fn parse_decimal(s: &[u8]) -> (f64, usize) {
    let digits = |from: usize| {
        s[from.min(s.len())..]
            .iter()
            .take_while(|b| b.is_ascii_digit())
            .count()
    };
    let int_len = digits(0);
    let mut end = int_len;
    let mut frac_len = 0;
    if s.get(end) == Some(&b'.') {
        frac_len = digits(end + 1);
        end += 1 + frac_len;
    }
    if int_len + frac_len == 0 {
        return (0.0, 0);
    }
    let mantissa_end = end;
    if matches!(s.get(end), Some(b'e' | b'E')) {
        let sign = usize::from(matches!(s.get(end + 1), Some(b'+' | b'-')));
        let exp_len = digits(end + 1 + sign);
        if exp_len > 0 {
            end += 1 + sign + exp_len;
        }
    }
    // Rebuild a form Rust parses (it rejects "1." and ".5" in some spellings) and let it do
    // the correctly rounded conversion, as glibc's is.
    let int = std::str::from_utf8(&s[..int_len]).unwrap_or("0");
    let frac_start = (int_len + 1).min(mantissa_end);
    let frac = std::str::from_utf8(&s[frac_start..frac_start + frac_len]).unwrap_or("");
    let exp = if end > mantissa_end {
        let text = std::str::from_utf8(&s[mantissa_end + 1..end]).unwrap_or("0");
        let (sign, digits) = match text.as_bytes().first() {
            Some(b'-') => (-1i64, &text[1..]),
            Some(b'+') => (1, &text[1..]),
            _ => (1, text),
        };
        // Saturate: beyond this every result is 0 or infinity anyway.
        let magnitude = digits
            .bytes()
            .fold(0i64, |acc, d| (acc * 10 + i64::from(d - b'0')).min(1 << 40));
        sign * magnitude
    } else {
        0
    };
    let text = format!(
        "{}.{}e{exp}",
        if int.is_empty() { "0" } else { int },
        if frac.is_empty() { "0" } else { frac }
    );
    (text.parse().unwrap_or(0.0), end)
}

/// The hex form after `0x`: hex digits with an optional point, then an optional binary
/// exponent `p[+-]digits`. Rounded to nearest, ties to even, as glibc rounds.
fn parse_hex(s: &[u8]) -> (f64, usize) {
    let mut mantissa: u64 = 0;
    let mut sticky = false;
    let mut exp2: i64 = 0;
    let mut i = 0;
    let mut seen_point = false;
    loop {
        match s.get(i) {
            Some(&b) if b.is_ascii_hexdigit() => {
                let d = u64::from(char::from(b).to_digit(16).unwrap_or(0));
                if mantissa >> 60 == 0 {
                    mantissa = mantissa << 4 | d;
                    if seen_point {
                        exp2 -= 4;
                    }
                } else {
                    sticky |= d != 0;
                    if !seen_point {
                        exp2 += 4;
                    }
                }
            }
            Some(b'.') if !seen_point => seen_point = true,
            _ => break,
        }
        i += 1;
    }
    if matches!(s.get(i), Some(b'p' | b'P')) {
        let sign_len = usize::from(matches!(s.get(i + 1), Some(b'+' | b'-')));
        let negative = s.get(i + 1) == Some(&b'-');
        let digits = s[(i + 1 + sign_len).min(s.len())..]
            .iter()
            .take_while(|b| b.is_ascii_digit())
            .count();
        if digits > 0 {
            let start = i + 1 + sign_len;
            let e = s[start..start + digits]
                .iter()
                .fold(0i64, |acc, d| (acc * 10 + i64::from(d - b'0')).min(1 << 40));
            exp2 += if negative { -e } else { e };
            i = start + digits;
        }
    }
    (compose_binary(mantissa, sticky, exp2), i)
}

/// `mantissa * 2^exp2` (plus a nonzero tail beyond the mantissa when `sticky`) rounded to the
/// nearest double, ties to even, with subnormals and overflow to infinity.
fn compose_binary(mantissa: u64, sticky: bool, exp2: i64) -> f64 {
    if mantissa == 0 {
        return 0.0;
    }
    let lz = mantissa.leading_zeros();
    let m = u128::from(mantissa << lz); // top bit set: value = m * 2^(e - 63)
    let e = exp2 + 63 - i64::from(lz);
    if e > 1023 {
        return f64::INFINITY;
    }
    // Bits to drop from the 64-bit m: 11 for a normal double, more for a subnormal.
    let shift = if e >= -1022 { 11 } else { 11 + (-1022 - e) };
    if shift > 65 {
        return 0.0;
    }
    let shift = shift as u32;
    let kept = m >> shift;
    let rem = m & ((1u128 << shift) - 1);
    let half = 1u128 << (shift - 1);
    let round_up = rem > half || (rem == half && (sticky || kept & 1 == 1));
    let mut kept = kept + u128::from(round_up);
    let mut e = e;
    if e >= -1022 {
        if kept >> 53 != 0 {
            kept >>= 1;
            e += 1;
            if e > 1023 {
                return f64::INFINITY;
            }
        }
        let bits = ((e + 1023) as u64) << 52 | (kept as u64 & ((1 << 52) - 1));
        f64::from_bits(bits)
    } else {
        // Subnormal: the exponent field is 0; rounding up to 2^52 lands on the smallest normal.
        f64::from_bits(kept as u64)
    }
}

#[cfg(test)]
mod tests {
    use super::super::testing::{check_cases, run};
    use super::{format_g, strtod};

    #[test]
    fn format_g_matches_printf() {
        let cases: &[(f64, usize, &str)] = &[
            (0.1, 14, "0.1"),
            (1e21, 14, "1e+21"),
            (123456789012345.0, 14, "1.2345678901234e+14"),
            (0.0001, 14, "0.0001"),
            (0.00001, 14, "1e-05"),
            (2.5, 1, "2"),
            (0.25, 1, "0.2"),
            (-1.5, 14, "-1.5"),
            (1e100, 14, "1e+100"),
            (100.0, 3, "100"),
            (1000.0, 3, "1e+03"),
            (999_999_999_999_999.0, 14, "1e+15"),
            (5e-324, 14, "4.9406564584125e-324"),
        ];
        for (n, p, want) in cases {
            assert_eq!(format_g(*n, *p), *want, "{n} at %.{p}g");
        }
    }

    #[test]
    fn strtod_forms() {
        let cases: &[(&[u8], f64, usize)] = &[
            (b"1", 1.0, 1),
            (b"-2.5e3x", -2500.0, 6),
            (b"1e", 1.0, 1),
            (b"1e+", 1.0, 1),
            (b".5", 0.5, 2),
            (b"5.", 5.0, 2),
            (b"0x1F", 31.0, 4),
            (b"0x", 0.0, 1),
            (b"0x.8p1", 1.0, 6),
            (b"0x1p-1074", 5e-324, 9),
            (b"0x1p1024", f64::INFINITY, 8),
            (b"infinity", f64::INFINITY, 8),
            (b"-INF", f64::NEG_INFINITY, 4),
            (b"-", 0.0, 0),
            (b"+.", 0.0, 0),
        ];
        for (text, value, used) in cases {
            let (v, u) = strtod(text);
            assert_eq!((v, u), (*value, *used), "{}", String::from_utf8_lossy(text));
        }
        assert!(strtod(b"nan(12)").0.is_nan());
        assert_eq!(strtod(b"nan(12)").1, 7);
        assert_eq!(strtod(b"nan(12").1, 3);
    }

    #[test]
    fn random_bytes_never_panic() {
        let mut seed: u64 = 0x853c_49e6_748f_ea9b;
        let mut next = move || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        let alphabet = b"{}[]:,\"\\u0123456789abcdefxXpP.eE+-tnfrl \t\nIN";
        for _ in 0..400 {
            let text: String = (0..(next() % 30))
                .map(|_| {
                    let r = next();
                    let b = if r % 4 == 0 {
                        r as u8 >> 1
                    } else {
                        alphabet[(r as usize >> 2) % alphabet.len()]
                    };
                    format!("\\{b}")
                })
                .collect();
            let out = run(&format!(
                r#"local ok, v = pcall(cjson.decode, "{text}")
                   if ok then cjson.encode_invalid_numbers(true) pcall(cjson.encode, v) end
                   return type(ok)"#
            ));
            assert_eq!(out, r#"2:true "boolean""#, "input {text}");
        }
    }

    #[test]
    fn deep_and_wide_values_round_trip() {
        let out = run(
            "local t = {} for i = 1, 20000 do t['k' .. i] = {i, 'x'} end \
             local back = cjson.decode(cjson.encode(t)) \
             cjson.encode_max_depth(100000) cjson.decode_max_depth(100000) \
             local deep = cjson.decode(string.rep('[', 7997) .. string.rep(']', 7997)) \
             local s = cjson.encode(deep) \
             return back.k20000[1], back.k7[2], #s",
        );
        // 7997 is the deepest array nesting Redis's C encoder fits in the Lua C stack.
        assert_eq!(out, r#"4:true 20000 "x" 15994"#);
    }

    // Cases recorded from Redis 7.0.15: each snippet ran through EVAL as
    // `dumpall(pcall(function() <snippet> end))`; the second string is Redis's answer.
    // BEGIN REDIS CASES
    #[test]
    fn encodes_scalars_and_strings() {
        check_cases(&[
            (
                r#"return cjson.encode("\127\1/\"\\\8\9\10\12\13\128\255")"#,
                r#"2:true "\034\092u007f\092u0001\092/\092\034\092\092\092b\092t\092n\092f\092r\128\255\034""#,
            ),
            (r#"return cjson.encode(-0.0)"#, r#"2:true "-0""#),
            (
                r#"return cjson.encode("\26\31\0")"#,
                r#"2:true "\034\092u001a\092u001f\092u0000\034""#,
            ),
            (r#"return cjson.encode(nil)"#, r#"2:true "null""#),
            (r#"return cjson.encode(cjson.null)"#, r#"2:true "null""#),
            (
                r#"return cjson.encode({["\0"]=1})"#,
                r#"2:true "{\034\092u0000\034:1}""#,
            ),
            (
                r#"return cjson.encode(true), cjson.encode(false), cjson.encode(""), cjson.encode(-5)"#,
                r#"5:true "true" "false" "\034\034" "-5""#,
            ),
            (
                r#"return cjson.encode(string.rep("\226\130\172", 3)), cjson.encode("\192\128"), cjson.encode("tab\there")"#,
                r#"4:true "\034\226\130\172\226\130\172\226\130\172\034" "\034\192\128\034" "\034tab\092there\034""#,
            ),
        ]);
    }

    #[test]
    fn encodes_invalid_numbers_per_setting() {
        check_cases(&[
            (
                r#"return cjson.encode(1/0)"#,
                r#"2:false "user_script:25: Cannot serialise number: must not be NaN or Inf""#,
            ),
            (
                r#"return cjson.encode(0/0)"#,
                r#"2:false "user_script:25: Cannot serialise number: must not be NaN or Inf""#,
            ),
            (
                r#"return cjson.encode_invalid_numbers(true), cjson.encode({1/0, -1/0, 0/0, -(0/0)})"#,
                r#"3:true true "[inf,-inf,nan,nan]""#,
            ),
            (
                r#"return cjson.encode_invalid_numbers("null"), cjson.encode({1/0, [1/0]=2})"#,
                r#"3:true "null" "{\0341\034:null,\034null\034:2}""#,
            ),
            (
                r#"return cjson.encode({1/0})"#,
                r#"2:false "user_script:25: Cannot serialise number: must not be NaN or Inf""#,
            ),
            (
                r#"return cjson.encode({[1/0] = 1})"#,
                r#"2:false "user_script:25: Cannot serialise number: must not be NaN or Inf""#,
            ),
            (
                r#"return cjson.encode({[0/0 ~= 0/0 and 1 or 2] = 0/0})"#,
                r#"2:false "user_script:25: Cannot serialise number: must not be NaN or Inf""#,
            ),
        ]);
    }

    #[test]
    fn encodes_numbers_with_printf_g() {
        check_cases(&[
            (
                r#"return cjson.encode_number_precision(3), cjson.encode({1/3, 123456, 0.000012345, 1e21, 100})"#,
                r#"3:true 3 "[0.333,1.23e+05,1.23e-05,1e+21,100]""#,
            ),
            (
                r#"return cjson.encode({1e15, 1e14, 123456789012345, 1.5e-5, 0.0001, 1e-5, -1e100, 2^53, 2^63, 5e-324})"#,
                r#"2:true "[1e+15,1e+14,1.2345678901234e+14,1.5e-05,0.0001,1e-05,-1e+100,9.007199254741e+15,9.2233720368548e+18,4.9406564584125e-324]""#,
            ),
            (
                r#"return cjson.encode(123456789012345678), cjson.encode(-123.456), cjson.encode(1e-7), cjson.encode(2^-1074), cjson.encode(1.7976931348623157e308)"#,
                r#"6:true "1.2345678901235e+17" "-123.456" "1e-07" "4.9406564584125e-324" "1.7976931348623e+308""#,
            ),
            (
                r#"return cjson.encode(0.1 + 0.2), cjson.encode(1/3), cjson.encode(100), cjson.encode(1e14), cjson.encode(99999999999999.9), cjson.encode(0.00001234)"#,
                r#"7:true "0.3" "0.33333333333333" "100" "1e+14" "1e+14" "1.234e-05""#,
            ),
            (
                r#"return cjson.encode_number_precision(1), cjson.encode({0.15, 0.25, 0.35, 2.5, 9.5, 95})"#,
                r#"3:true 1 "[0.1,0.2,0.3,2,1e+01,1e+02]""#,
            ),
            (
                r#"return cjson.encode_number_precision(14), cjson.encode_number_precision()"#,
                r#"3:true 14 14"#,
            ),
            (
                r#"return cjson.encode_number_precision(nil), cjson.encode_number_precision(7.9), cjson.encode(math.pi)"#,
                r#"4:true 14 7 "3.141593""#,
            ),
            (
                r#"return cjson.encode({[-0.0] = 1})"#,
                r#"2:true "{\034-0\034:1}""#,
            ),
            (
                r#"return cjson.encode({[2^53] = 1})"#,
                r#"2:true "{\0349.007199254741e+15\034:1}""#,
            ),
            (
                r#"local x, t = 7, {} for i = 1, 300 do x = (x * 1103515245 + 12345) % 2147483648 local y = (x * 1103515245 + 12345) % 2147483648 x = y t[i] = ((x / 2147483648) + y / 2^62) * 10 ^ ((i % 60) - 30) * (i % 2 == 0 and 1 or -1) end return cjson.encode(t)"#,
                r#"2:true "[-2.9926478876698e-30,9.870918993778e-29,-5.2920293832626e-28,9.1532659573263e-27,-9.9737313436222e-26,1.9335463652078e-25,-5.903410914309e-25,3.0253529562733e-24,-6.7368425460238e-22,8.0957877673655e-21,-6.3712954550848e-21,4.959585668966e-19,-8.9231899422236e-18,8.0273261703678e-17,-2.7205497039112e-17,7.3878788982462e-15,-8.176205162041e-14,7.4250721966033e-13,-3.3900955335191e-12,6.5885463387652e-11,-2.9941177382107e-10,3.1288909926679e-09,-5.5808639552355e-08,4.6200564525184e-07,-4.1511905212659e-06,8.4026610890416e-05,-0.00035326564328431,0.0058686912087112,-0.057373034980787,0.086249262134661,-5.2506685281408,29.500246061711,-79.647541083231,2023.5431203728,-85017.615596306,617568.97001414,-2486915.589537,39351654.071059,-680217743.23667,1920471490.3238,-36120414.750707,776942789916.39,-4320938589200.8,50927853608005,-2.9238057150151e+14,2.8274273885542e+15,-5.8856248882998e+15,6.8711531194258e+17,-1.7416536816124e+18,2.8816413892813e+19,-4.5512965342734e+20,3.6403834836746e+21,-4.2112818053976e+22,9.9052283213964e+23,-5.7604312923553e+24,8.9873218578227e+25,-9.7444248244839e+26,2.2675800334046e+27,-3.9431417006734e+28,5.0658357166992e-31,-7.7875745332742e-30,9.151204828709e-29,-5.843127968648e-28,4.6229875109266e-27,-7.4408566986401e-26,8.7419259588895e-25,-2.4586907040601e-24,4.9330949806297e-24,-6.6156834394744e-22,2.3551464091778e-21,-2.8544080270708e-20,6.0124722151144e-19,-9.1725945515431e-18,2.4512314807862e-17,-1.1905312543691e-16,3.3444750324564e-15,-6.9336187871795e-14,8.4470334688421e-13,-2.7568483365499e-12,4.7317171118836e-11,-9.3195009274965e-10,9.8258638427713e-09,-5.8455327180426e-08,1.6274678714701e-07,-7.6682543790286e-06,5.1357984566762e-06,-0.00047572529338101,0.0082562553921045,-0.015743649013221,0.32484483733999,-2.1895650039378,76.261064445721,-578.19879081948,4067.5392393337,-44404.256364519,220252.42458109,-5985728.2070377,31144166.007239,-123512506.5425,1093231440.0995,-13988685614.424,89738249820.535,-4373548032889.9,3164839746041.6,-456988811705.72,4.9290227912967e+15,-9.8656991170094e+16,1.5276622779331e+17,-3.2341998830597e+18,5.1328653121054e+19,-7.0999169382732e+20,1.5778946883874e+21,-7.933651212572e+22,4.9787580990134e+23,-7.2589269314236e+24,5.935525896929e+24,-3.1873506322444e+26,2.603830994388e+27,-5.5683100249471e+28,5.4069960142518e-31,-5.0754702114852e-30,6.4420190483527e-29,-5.2918577218856e-28,9.8676633880789e-27,-6.8897581132547e-26,3.2722044006326e-25,-4.9915647529958e-24,9.5869016691981e-23,-8.6597776453289e-22,3.7425518053316e-22,-8.3006739655047e-21,3.4989595429501e-20,-1.2171387678092e-19,8.4219801465152e-17,-4.3831792494204e-16,5.1634839201176e-15,-3.420547546549e-14,4.232418837134e-13,-7.7863991296787e-12,3.6261761205393e-11,-5.4209244276494e-10,1.2767231470331e-09,-5.2675485635491e-08,2.7009442461193e-07,-1.6898193590761e-06,3.051322700014e-05,-0.00098525750682934,0.0057999992397614,-0.093187141461851,0.56001853968949,-0.8773231510433,47.288650296297,-650.14171630616,1917.7916282405,-78483.963049242,790626.52624707,-408287.04852997,67007774.145812,-447238683.90882,2315652371.5312,-1320946217.1984,938744664629.34,-3933431209965.3,76982402837361,-1.1389064794122e+14,1.1062473063852e+15,-3.1686723247025e+16,9.8158872173242e+17,-6.8159389527589e+18,9.6496105239026e+19,-6.8530941041434e+20,8.3555889168547e+21,-5.4730129267429e+22,5.1267528557809e+23,-2.8124144686444e+24,8.6212444345566e+25,-6.5699672729568e+26,6.6350844533346e+27,-9.9429976986456e+28,1.9911527642939e-31,-5.1746261143939e-30,7.5382033025558e-29,-4.2172223349182e-29,6.881765726433e-27,-1.2593626981878e-26,6.0576164750651e-25,-1.5766537196826e-24,3.7231493013553e-23,-6.6425374181208e-22,1.4262425906147e-21,-8.4341317454512e-20,8.4617662469213e-19,-9.4316911741307e-18,9.5941212817999e-17,-4.5847359321009e-16,5.935089590929e-15,-8.677032593953e-15,1.6907304533248e-13,-6.5779769451255e-12,5.9316515950168e-12,-4.5913720152301e-10,1.3056781894088e-09,-6.5173149139235e-09,8.5661542455508e-07,-5.6286370780452e-06,2.262577117543e-05,-0.00010656937961773,0.00032428052757135,-0.011005377774595,0.036732792871414,-1.5339803702822,11.070716386228,-755.05757367008,4419.5297008471,-18651.223191363,925466.23988332,-4804382.326456,60777664.212872,-667762756.65861,3588829042.1985,-14720153815.448,981803298453.71,-2885971070679.8,31992724552747,-6.9805896314702e+14,6.7200362713635e+15,-6.0562694100925e+16,6.766022446922e+17,-1.3438022142946e+18,4.0234971065184e+19,-1.27842187941e+20,7.5729906594255e+21,-5.9277594117111e+22,7.8317987955323e+23,-8.8545668166385e+24,4.1016542930629e+25,-2.4725976271893e+26,3.6458802240183e+27,-9.4606804891772e+28,2.0025491723803e-32,-1.0201692585927e-31,6.0245752362649e-30,-7.3779839311624e-28,1.5812686093064e-27,-1.6529345520087e-26,9.8094189212701e-25,-7.3327970538907e-24,6.1584806470938e-23,-6.6052579910519e-22,7.26687908511e-21,-4.8709418647322e-21,3.8708327356124e-19,-9.4901144548739e-18,9.164234404063e-17,-3.7017118948054e-16,1.8995440015102e-15,-9.128093723733e-14,5.5655097987342e-13,-5.1856040978737e-12,2.8931617750289e-11,-9.9406242416895e-10,4.0843394417708e-09,-2.9348254217463e-09,7.3280513320714e-07,-4.0335929412551e-06,6.1379233031245e-05,-0.00012536501890298,0.001497842074138,-0.083776140252024,0.29785203947586,-2.2065022598051,71.388933095796,-673.39837582475,5511.4781882202,-48388.233803393,350782.6329911,-7328303.1244428,15197300.918027,-499531388.51539,1692596674.7536,-37072181718.923,877592087200.65,-4524860384187.1,93549156232527,-1.6083720333913e+14,5.5241847063993e+15,-8.3529949227129e+14,6.7057585747474e+17,-7.7669501340794e+18,8.1080794372168e+19,-5.108296873564e+20,9.2033934636057e+21,-6.776425841626e+22,3.673341275972e+23,-4.3436026593408e+24,1.6058138020364e+25,-4.0873572249372e+26,6.6266500980717e+27,-9.2817270798989e+28,8.0696928538707e-31]""#,
            ),
            (
                r#"local x, t = 11, {} for i = 1, 300 do x = (x * 1103515245 + 12345) % 2147483648 t[i] = math.floor(x / 2^((i % 31))) / 2^(i % 20) end cjson.encode_number_precision(7) return cjson.encode(t)"#,
                r#"2:true "[3.503154e+08,5.121934e+07,2.795618e+07,2679425,815047.2,357208.6,106022.1,23059.82,647.543,1256.959,414.917,44.11377,26.03784,0.7438354,1.496063,0.3180542,0.001831055,0.02963638,0.003442764,1861,401,73.75,9.125,4.625,1.21875,0.265625,0.0625,0.0078125,0,0.0009765625,478403.2,43818.06,1138.58,2626.151,3543.967,867.9637,67.02914,5.032829,0.2784786,3004817,529101.5,72212.75,18418.62,903.6875,1763.281,319.5312,17.67188,10.48047,9.695312,1.289062,0.9033203,0.1728516,0.0534668,0.01409912,0.001983643,1.525879e-05,6.866455e-05,3.814697e-06,0,0,0,6.272442e+07,1.204109e+08,1.291843e+07,4240056,1313314,174881.5,1169.625,1072.469,4133.109,289.855,342.6135,5.127319,28.87433,2.543182,0.6271515,0.3081589,0.1150894,0.009717941,6906,2019,376.25,122.75,9.5,5.25,0.296875,0.4921875,0.07421875,0.02148438,0.001953125,0.0009765625,0.0002441406,125761.2,41746.44,11070.52,885.5742,886.4034,251.0201,53.69293,261808,1786964,383004,221948.5,17697,8003.344,2335.141,462.5859,116.2695,43.64648,13.80664,0.3505859,0.6921387,0.1419678,0.03442383,0.004211426,0.003234863,1.525879e-05,0.0002098083,9.536743e-06,7,0.5,0.25,0,1.813026e+07,1.692096e+07,3729176,847194,237271.5,86705.12,15178.84,1835.539,869.4512,479.1036,23.24054,28.80807,4.211212,1.112,0.3469658,0.0431633,26708,4277,1459,33.625,25.5625,12.3125,6.984375,0.6171875,0.3203125,0.08398438,0.02539062,0,0.0002441406,0.0003662109,0,26610.88,6516.24,1166.82,512.4086,230.7131,4.587401e+07,1.125312e+07,3615426,739934.9,144554.8,58019.84,2138.469,1570.703,213.4336,120.2422,28.9834,8.323242,1.139648,0.5247803,0.1550903,0.01202393,0.01029968,0.002967834,6.484985e-05,6.484985e-05,14,3,1.5,0.75,0.125,0,2.790817e+07,2839925,2015808,422457.8,51200.14,17090.02,6664.579,1812.667,302.0289,12.4046,5.37561,5.024986,1.461597,0.342844,18646,12255,8126,583.375,361.5625,20.15625,6.421875,4.445312,0.578125,0.08203125,0.06347656,0.01757812,0.001464844,0.0002441406,0.0003662109,9.155273e-05,0,14237.91,78.5752,372.555,9.342931e+07,1.140168e+07,1.285728e+07,2379138,28906.12,199261.4,23200,14511.3,227.8789,919.6562,210.8506,13.6416,9.293457,3.017334,0.0579834,0.05267334,0.05044556,0.007987976,0.001365662,0.000919342,32,62.5,3.75,1.5,0.125,0.0625,0.03125,0.0078125,5154182,250767.5,324425.4,53934.64,28821.14,8113.735,2018.175,91.89136,113.6965,29.41225,6.101753,0.2705441,433246,90109.5,30847.5,1347.5,591.6875,440.5312,47.85938,2.59375,0.6875,0.5449219,0.04199219,0.1201172,0.02929688,0.004882812,0.001220703,0.0003662109,6.103516e-05,2.288818e-05,0,24.47168,2.490202e+08,2.422046e+08,2116272,2644892,2681921,996490.5,173183.6,11078.16,12099.85,2118.428,429.7637,9.149414,57.26904,6.512207,1.825378,0.8589172,0.1759491,0.01000214,0.01406097,0.001867294,898]""#,
            ),
            (
                r#"local out = {} for p = 1, 14 do cjson.encode_number_precision(p) out[p] = cjson.encode({1/3, 2/3, 12345.6789, 0.00012345, 9.5, 0.95, 99.95, 1e-5, 123456789, 5e-324, 1.7976931348623157e308}) end return table.concat(out, " ")"#,
                r#"2:true "[0.3,0.7,1e+04,0.0001,1e+01,0.9,1e+02,1e-05,1e+08,5e-324,2e+308] [0.33,0.67,1.2e+04,0.00012,9.5,0.95,1e+02,1e-05,1.2e+08,4.9e-324,1.8e+308] [0.333,0.667,1.23e+04,0.000123,9.5,0.95,100,1e-05,1.23e+08,4.94e-324,1.8e+308] [0.3333,0.6667,1.235e+04,0.0001234,9.5,0.95,99.95,1e-05,1.235e+08,4.941e-324,1.798e+308] [0.33333,0.66667,12346,0.00012345,9.5,0.95,99.95,1e-05,1.2346e+08,4.9407e-324,1.7977e+308] [0.333333,0.666667,12345.7,0.00012345,9.5,0.95,99.95,1e-05,1.23457e+08,4.94066e-324,1.79769e+308] [0.3333333,0.6666667,12345.68,0.00012345,9.5,0.95,99.95,1e-05,1.234568e+08,4.940656e-324,1.797693e+308] [0.33333333,0.66666667,12345.679,0.00012345,9.5,0.95,99.95,1e-05,1.2345679e+08,4.9406565e-324,1.7976931e+308] [0.333333333,0.666666667,12345.6789,0.00012345,9.5,0.95,99.95,1e-05,123456789,4.94065646e-324,1.79769313e+308] [0.3333333333,0.6666666667,12345.6789,0.00012345,9.5,0.95,99.95,1e-05,123456789,4.940656458e-324,1.797693135e+308] [0.33333333333,0.66666666667,12345.6789,0.00012345,9.5,0.95,99.95,1e-05,123456789,4.9406564584e-324,1.7976931349e+308] [0.333333333333,0.666666666667,12345.6789,0.00012345,9.5,0.95,99.95,1e-05,123456789,4.94065645841e-324,1.79769313486e+308] [0.3333333333333,0.6666666666667,12345.6789,0.00012345,9.5,0.95,99.95,1e-05,123456789,4.940656458412e-324,1.797693134862e+308] [0.33333333333333,0.66666666666667,12345.6789,0.00012345,9.5,0.95,99.95,1e-05,123456789,4.9406564584125e-324,1.7976931348623e+308]""#,
            ),
            (
                r#"return struct.unpack("<d", struct.pack("<d", 1/3)), cjson.decode(cjson.encode(1/3))"#,
                r#"3:true 0.33333333333333331 0.33333333333332998"#,
            ),
        ]);
    }

    #[test]
    fn detects_arrays_and_objects() {
        check_cases(&[
            (
                r#"return cjson.encode({[1e300]=1})"#,
                r#"2:true "{\0341e+300\034:1}""#,
            ),
            (
                r#"return cjson.encode({[2^31]=1})"#,
                r#"2:true "{\0342147483648\034:1}""#,
            ),
            (
                r#"return cjson.encode({[2^31-1]=1})"#,
                r#"2:false "user_script:25: Cannot serialise table: excessively sparse array""#,
            ),
            (
                r#"return cjson.encode({1,nil,3})"#,
                r#"2:true "[1,null,3]""#,
            ),
            (
                r#"return cjson.encode({[1]=1,[11]=1})"#,
                r#"2:false "user_script:25: Cannot serialise table: excessively sparse array""#,
            ),
            (
                r#"return cjson.encode({[0]=1})"#,
                r#"2:true "{\0340\034:1}""#,
            ),
            (
                r#"return cjson.encode({[-1]=1, [1.5]=2})"#,
                r#"2:true "{\034-1\034:1,\0341.5\034:2}""#,
            ),
            (
                r#"return cjson.encode({a=cjson.null})"#,
                r#"2:true "{\034a\034:null}""#,
            ),
            (
                r#"return cjson.encode_sparse_array(true, 2, 3), cjson.encode({[1]=1, [5]=5})"#,
                r#"3:true true "{\0341\034:1,\0345\034:5}""#,
            ),
            (
                r#"return cjson.encode_sparse_array(nil, 0), cjson.encode({[1]=1, [50]=5})"#,
                r#"3:true false "[1,null,null,null,null,null,null,null,null,null,null,null,null,null,null,null,null,null,null,null,null,null,null,null,null,null,null,null,null,null,null,null,null,null,null,null,null,null,null,null,null,null,null,null,null,null,null,null,null,5]""#,
            ),
            (
                r#"return cjson.encode({{}, {{}}})"#,
                r#"2:true "[{},[{}]]""#,
            ),
            (
                r#"return cjson.encode({a={b={c={}}}})"#,
                r#"2:true "{\034a\034:{\034b\034:{\034c\034:{}}}}""#,
            ),
            (
                r#"return cjson.encode({1, 2, {a = 3}})"#,
                r#"2:true "[1,2,{\034a\034:3}]""#,
            ),
            (
                r#"return cjson.encode({a = 1, b = 2, c = 3, d = 4})"#,
                r#"2:true "{\034a\034:1,\034d\034:4,\034c\034:3,\034b\034:2}""#,
            ),
            (
                r#"return cjson.encode({["key with \"quote\""] = "v/al\\ue"})"#,
                r#"2:true "{\034key with \092\034quote\092\034\034:\034v\092/al\092\092ue\034}""#,
            ),
            (
                r#"return cjson.encode({[1] = "a", [2] = "b", x = "c"})"#,
                r#"2:true "{\0341\034:\034a\034,\0342\034:\034b\034,\034x\034:\034c\034}""#,
            ),
            (
                r#"return cjson.encode({[1.0] = 1, [2] = 2})"#,
                r#"2:true "[1,2]""#,
            ),
            (
                r#"return cjson.encode({[1] = 1, [10] = 10})"#,
                r#"2:true "[1,null,null,null,null,null,null,null,null,10]""#,
            ),
            (
                r#"return cjson.encode({[1] = 1, [11] = 1, [12] = 2, [13] = 3})"#,
                r#"2:false "user_script:25: Cannot serialise table: excessively sparse array""#,
            ),
            (
                r#"return cjson.encode({[3] = 3, [4] = 4, [5] = 5})"#,
                r#"2:true "[null,null,3,4,5]""#,
            ),
            (
                r#"return cjson.encode({[6] = 1})"#,
                r#"2:true "[null,null,null,null,null,1]""#,
            ),
            (
                r#"return cjson.encode_sparse_array(true), cjson.encode({[1] = 1, [20] = 2})"#,
                r#"3:true true "{\0341\034:1,\03420\034:2}""#,
            ),
            (
                r#"return cjson.encode_sparse_array("off", 1, 0), pcall(cjson.encode, {1, nil, 3})"#,
                r#"4:true false false "Cannot serialise table: excessively sparse array""#,
            ),
            (
                r#"local c = cjson.new() c.encode_sparse_array(true) return c.encode({[1] = 1, [100] = 2}), pcall(cjson.encode, {[1] = 1, [100] = 2})"#,
                r#"4:true "{\0341\034:1,\034100\034:2}" false "Cannot serialise table: excessively sparse array""#,
            ),
            (
                r#"return cjson.encode({[1] = true, [2] = false, [3] = "x", n = nil})"#,
                r#"2:true "[true,false,\034x\034]""#,
            ),
            (
                r#"return cjson.encode({[1] = 1, [2] = 2, [3] = 3, [4] = 4, [5] = 5, [6] = 6, [7] = 7, [8] = 8, [9] = 9, [10] = 10, [11] = 11})"#,
                r#"2:true "[1,2,3,4,5,6,7,8,9,10,11]""#,
            ),
            (
                r#"return cjson.encode({[1e15] = 1, [1] = 2})"#,
                r#"2:true "[2]""#,
            ),
        ]);
    }

    #[test]
    fn encode_errors() {
        check_cases(&[
            (
                r#"return cjson.encode(0.1, 1e300, 123456789012345678, 3.14159265358979)"#,
                r#"2:false "user_script:25: bad argument #1 to 'encode' (expected 1 argument)""#,
            ),
            (
                r#"return cjson.encode()"#,
                r#"2:false "user_script:25: bad argument #1 to 'encode' (expected 1 argument)""#,
            ),
            (
                r#"return cjson.encode(1,2)"#,
                r#"2:false "user_script:25: bad argument #1 to 'encode' (expected 1 argument)""#,
            ),
            (
                r#"return cjson.encode({[true]=1})"#,
                r#"2:false "user_script:25: Cannot serialise boolean: table key must be a number or string""#,
            ),
            (
                r#"return cjson.encode(function() end)"#,
                r#"2:false "user_script:25: Cannot serialise function: type not supported""#,
            ),
            (
                r#"return cjson.encode({f=function() end})"#,
                r#"2:false "user_script:25: Cannot serialise function: type not supported""#,
            ),
            (
                r#"return cjson.encode({[{}] = 1})"#,
                r#"2:false "user_script:25: Cannot serialise table: table key must be a number or string""#,
            ),
            (
                r#"return cjson.encode({[cjson.null] = 1})"#,
                r#"2:false "user_script:25: Cannot serialise userdata: table key must be a number or string""#,
            ),
            (
                r#"return cjson.encode(coroutine.create(function() end))"#,
                r#"2:false "user_script:25: Cannot serialise thread: type not supported""#,
            ),
            (
                r#"local t = {} t[1] = t return pcall(cjson.encode, t)"#,
                r#"3:true false "Cannot serialise, excessive nesting (1001)""#,
            ),
            (
                r#"local t = {} t.a = t return pcall(cjson.encode, t)"#,
                r#"3:true false "Cannot serialise, excessive nesting (1001)""#,
            ),
            (
                r#"local ok, e = pcall(cjson.encode, {f = coroutine.create(function() end)}) return e"#,
                r#"2:true "Cannot serialise thread: type not supported""#,
            ),
        ]);
    }

    #[test]
    fn configuration_functions() {
        check_cases(&[
            (
                r#"return cjson.encode_max_depth(0)"#,
                r#"2:false "user_script:25: bad argument #1 to 'encode_max_depth' (expected integer between 1 and 2147483647)""#,
            ),
            (r#"return cjson.encode_max_depth(2^32+5)"#, r#"2:true 5"#),
            (
                r#"return cjson.encode_invalid_numbers("null")"#,
                r#"2:true "null""#,
            ),
            (
                r#"return cjson.encode_sparse_array()"#,
                r#"4:true false 2 10"#,
            ),
            (
                r#"return cjson.encode_sparse_array(1)"#,
                r#"2:false "user_script:25: bad argument #1 to 'encode_sparse_array' (invalid option '1')""#,
            ),
            (
                r#"return cjson.encode_number_precision(15)"#,
                r#"2:false "user_script:25: bad argument #1 to 'encode_number_precision' (expected integer between 1 and 14)""#,
            ),
            (r#"return cjson.encode_keep_buffer("on")"#, r#"2:true true"#),
            (
                r#"return cjson.encode_invalid_numbers("on"), cjson.encode_invalid_numbers("off"), cjson.encode_invalid_numbers()"#,
                r#"4:true true false false"#,
            ),
            (
                r#"return cjson.encode_invalid_numbers("bogus")"#,
                r#"2:false "user_script:25: bad argument #1 to 'encode_invalid_numbers' (invalid option 'bogus')""#,
            ),
            (
                r#"return cjson.encode_invalid_numbers(1, 2)"#,
                r#"2:false "user_script:25: bad argument #2 to 'encode_invalid_numbers' (found too many arguments)""#,
            ),
            (
                r#"return cjson.encode_sparse_array("on", -1)"#,
                r#"2:false "user_script:25: bad argument #1 to 'encode_sparse_array' (expected integer between 0 and 2147483647)""#,
            ),
            (
                r#"return cjson.encode_keep_buffer(false), cjson.encode_keep_buffer()"#,
                r#"3:true false false"#,
            ),
            (
                r#"local c = cjson.new() c.encode_max_depth(1) return pcall(c.encode, {{1}}), cjson.encode({{1}}), c._NAME, c.null == cjson.null"#,
                r#"5:true false "[[1]]" "cjson" true"#,
            ),
            (
                r#"return cjson.encode_number_precision(0)"#,
                r#"2:false "user_script:25: bad argument #1 to 'encode_number_precision' (expected integer between 1 and 14)""#,
            ),
            (
                r#"return cjson.encode_number_precision("x")"#,
                r#"2:false "user_script:25: bad argument #1 to 'encode_number_precision' (number expected, got string)""#,
            ),
            (
                r#"return cjson.encode_max_depth(), cjson.decode_max_depth(), cjson.encode_keep_buffer(), cjson.decode_invalid_numbers(), cjson.encode_invalid_numbers()"#,
                r#"6:true 1000 1000 true true false"#,
            ),
            (
                r#"return cjson.encode_sparse_array(false, 3, 5), cjson.encode_sparse_array()"#,
                r#"5:true false false 3 5"#,
            ),
            (
                r#"return cjson.encode_sparse_array("yes")"#,
                r#"2:false "user_script:25: bad argument #1 to 'encode_sparse_array' (invalid option 'yes')""#,
            ),
            (
                r#"return cjson.encode_sparse_array({})"#,
                r#"2:false "user_script:25: bad argument #1 to 'encode_sparse_array' (string expected, got table)""#,
            ),
            (
                r#"return cjson.encode_sparse_array(1, 2, 3, 4)"#,
                r#"2:false "user_script:25: bad argument #4 to 'encode_sparse_array' (found too many arguments)""#,
            ),
            (
                r#"return cjson.encode_sparse_array(nil, nil, -1)"#,
                r#"2:false "user_script:25: bad argument #1 to 'encode_sparse_array' (expected integer between 0 and 2147483647)""#,
            ),
            (
                r#"return cjson.encode_sparse_array(nil, 2^32 + 3)"#,
                r#"4:true false 3 10"#,
            ),
            (
                r#"return cjson.encode_sparse_array("on\0x")"#,
                r#"4:true true 2 10"#,
            ),
            (
                r#"return cjson.encode_keep_buffer("off"), cjson.encode_keep_buffer(true), cjson.encode_keep_buffer(1)"#,
                r#"2:false "user_script:25: bad argument #1 to 'encode_keep_buffer' (invalid option '1')""#,
            ),
            (
                r#"return cjson.decode_invalid_numbers("on"), cjson.decode_invalid_numbers(nil)"#,
                r#"3:true true true"#,
            ),
            (
                r#"return cjson.encode_max_depth("3"), cjson.encode_max_depth(-1)"#,
                r#"2:false "user_script:25: bad argument #1 to 'encode_max_depth' (expected integer between 1 and 2147483647)""#,
            ),
            (
                r#"local c = cjson.new() local d = c.new() return d.encode_max_depth(), d._VERSION, type(d.new)"#,
                r#"4:true 1000 "2.1.0" "function""#,
            ),
            (
                r#"return cjson._NAME, cjson._VERSION, type(cjson.null), tostring(cjson.null)"#,
                r#"5:true "cjson" "2.1.0" "userdata" "userdata: (nil)""#,
            ),
            (
                r#"local ok, e = pcall(cjson.encode_max_depth, 0) return e"#,
                r#"2:true "bad argument #1 to '?' (expected integer between 1 and 2147483647)""#,
            ),
            (
                r#"local ok = pcall(cjson.encode_sparse_array, true, -1) return ok, cjson.encode_sparse_array()"#,
                r#"5:true false true 2 10"#,
            ),
            (
                r#"local ok = pcall(cjson.encode_sparse_array, false, 5, -1) return ok, cjson.encode_sparse_array()"#,
                r#"5:true false false 5 10"#,
            ),
            (
                r#"local ok = pcall(cjson.encode_sparse_array, "bad", 5) return ok, cjson.encode_sparse_array()"#,
                r#"5:true false false 2 10"#,
            ),
        ]);
    }

    #[test]
    fn decodes_values() {
        check_cases(&[
            (
                r#"return cjson.decode("1\0garbage")"#,
                r#"2:false "user_script:25: JSON parser does not support UTF-16 or UTF-32""#,
            ),
            (
                r#"return cjson.decode("  {\"a\" : [ true , false , null ] }  ")"#,
                r#"2:true {["a"]={[1]=true,[2]=false,[3]=null}}"#,
            ),
            (
                r#"return cjson.decode("\"\\u00e9\\uD83D\\uDE00\\u0000x\"")"#,
                r#"2:true "\195\169\240\159\152\128\000x""#,
            ),
            (
                r#"return cjson.decode("[]"), cjson.decode("{}"), cjson.encode(cjson.decode("[]")), cjson.encode({})"#,
                r#"5:true {} {} "{}" "{}""#,
            ),
            (
                r#"return cjson.decode('"\\/\\b\\f\\n\\r\\t\\"\\\\"')"#,
                r#"2:true "/\008\012\010\013\009\034\092""#,
            ),
            (r#"return cjson.decode(123)"#, r#"2:true 123"#),
            (
                r#"return cjson.decode('"\1\2\127\255"')"#,
                r#"2:true "\001\002\127\255""#,
            ),
            (
                r#"return cjson.decode("[" .. string.rep("1,", 100) .. "2]")[101]"#,
                r#"2:true 2"#,
            ),
            (
                r#"return cjson.decode("{\"a\":1,\"a\":2}")"#,
                r#"2:true {["a"]=2}"#,
            ),
            (
                r#"return cjson.decode("{\"a\":null}")"#,
                r#"2:true {["a"]=null}"#,
            ),
            (
                r#"return cjson.decode("[null, null]")"#,
                r#"2:true {[1]=null,[2]=null}"#,
            ),
            (
                r#"return cjson.decode("{\"\":\"\"}")"#,
                r#"2:true {[""]=""}"#,
            ),
            (
                r#"return cjson.decode("\"\\u0041\\u00ff\\u0800\\uffff\"")"#,
                r#"2:true "A\195\191\224\160\128\239\191\191""#,
            ),
            (
                r#"return cjson.decode("\"\\uD834\\uDD1E\"")"#,
                r#"2:true "\240\157\132\158""#,
            ),
            (
                r#"return cjson.decode("\"\t\n\1\"")"#,
                r#"2:true "\009\010\001""#,
            ),
            (
                r#"return cjson.decode("\"a\0b\"")"#,
                r#"2:false "user_script:25: Expected value but found unexpected end of string at character 3""#,
            ),
            (
                r#"return cjson.decode("[1,2]\0 [3]")"#,
                r#"2:true {[1]=1,[2]=2}"#,
            ),
            (
                r#"return cjson.decode("1\0")"#,
                r#"2:false "user_script:25: JSON parser does not support UTF-16 or UTF-32""#,
            ),
            (
                r#"return cjson.decode("true"), cjson.decode("false"), cjson.decode("null"), cjson.decode(" \t\r\n 5 \t\r\n ")"#,
                r#"5:true true false null 5"#,
            ),
            (
                r#"return cjson.decode("[true,false,null,\"x\",1.5,{}]")"#,
                r#"2:true {[1]=true,[2]=false,[3]=null,[4]="x",[5]=1.5,[6]={}}"#,
            ),
            (
                r#"return cjson.encode(cjson.decode("[1,{\"a\":[2,3,{\"b\":null}]},\"\\u20ac\"]"))"#,
                r#"2:true "[1,{\034a\034:[2,3,{\034b\034:null}]},\034\226\130\172\034]""#,
            ),
            (
                r#"return cjson.decode(cjson.encode({list = {1, 2, 3}, str = "a\"b\\c/d\1", num = -0.5, flag = false}))"#,
                r#"2:true {["flag"]=false,["list"]={[1]=1,[2]=2,[3]=3},["num"]=-0.5,["str"]="a\034b\092c/d\001"}"#,
            ),
        ]);
    }

    #[test]
    fn decode_errors() {
        check_cases(&[
            (
                r#"return cjson.decode("[1,")"#,
                r#"2:false "user_script:25: Expected value but found T_END at character 4""#,
            ),
            (
                r#"return cjson.decode("")"#,
                r#"2:false "user_script:25: Expected value but found T_END at character 1""#,
            ),
            (
                r#"return cjson.decode("{\"a\":1,}")"#,
                r#"2:false "user_script:25: Expected object key string but found T_OBJ_END at character 8""#,
            ),
            (
                r#"return cjson.decode("\"\\ud800\"")"#,
                r#"2:false "user_script:25: Expected value but found invalid unicode escape code at character 2""#,
            ),
            (
                r#"return cjson.decode({})"#,
                r#"2:false "user_script:25: bad argument #1 to 'decode' (string expected, got table)""#,
            ),
            (
                r#"return cjson.decode()"#,
                r#"2:false "user_script:25: bad argument #1 to 'decode' (expected 1 argument)""#,
            ),
            (
                r#"return pcall(cjson.decode)"#,
                r#"3:true false "bad argument #1 to '?' (expected 1 argument)""#,
            ),
            (
                r#"return cjson.decode("[1, 2")"#,
                r#"2:false "user_script:25: Expected comma or array end but found T_END at character 6""#,
            ),
            (
                r#"return cjson.decode("\"abc")"#,
                r#"2:false "user_script:25: Expected value but found unexpected end of string at character 5""#,
            ),
            (
                r#"return cjson.decode("\"\\x\"")"#,
                r#"2:false "user_script:25: Expected value but found invalid escape code at character 2""#,
            ),
            (
                r#"return cjson.decode("tru")"#,
                r#"2:false "user_script:25: Expected value but found invalid token at character 1""#,
            ),
            (
                r#"return cjson.decode("nul")"#,
                r#"2:false "user_script:25: Expected value but found invalid token at character 1""#,
            ),
            (
                r#"return cjson.decode("1e")"#,
                r#"2:false "user_script:25: Expected the end but found invalid token at character 2""#,
            ),
            (
                r#"return cjson.decode("- 1")"#,
                r#"2:false "user_script:25: Expected value but found invalid number at character 1""#,
            ),
            (
                r#"return cjson.decode("0x")"#,
                r#"2:false "user_script:25: Expected the end but found invalid token at character 2""#,
            ),
            (
                r#"return cjson.decode("1.5.3")"#,
                r#"2:false "user_script:25: Expected the end but found invalid token at character 4""#,
            ),
            (
                r#"return cjson.decode("{\"a\" 1}")"#,
                r#"2:false "user_script:25: Expected colon but found T_NUMBER at character 6""#,
            ),
            (
                r#"return cjson.decode("{1:2}")"#,
                r#"2:false "user_script:25: Expected object key string but found T_NUMBER at character 2""#,
            ),
            (
                r#"return cjson.decode("[1 2]")"#,
                r#"2:false "user_script:25: Expected comma or array end but found T_NUMBER at character 4""#,
            ),
            (
                r#"return cjson.decode("{\"a\":1 \"b\"}")"#,
                r#"2:false "user_script:25: Expected comma or object end but found T_STRING at character 8""#,
            ),
            (
                r#"return cjson.decode("\"\\uDC00\"")"#,
                r#"2:false "user_script:25: Expected value but found invalid unicode escape code at character 2""#,
            ),
            (
                r#"return cjson.decode("\"\\uD800\\u0041\"")"#,
                r#"2:false "user_script:25: Expected value but found invalid unicode escape code at character 2""#,
            ),
            (
                r#"return cjson.decode("\"\\u12\"")"#,
                r#"2:false "user_script:25: Expected value but found invalid unicode escape code at character 2""#,
            ),
            (
                r#"return cjson.decode(" ")"#,
                r#"2:false "user_script:25: Expected value but found T_END at character 2""#,
            ),
            (
                r#"return cjson.decode("[1]x")"#,
                r#"2:false "user_script:25: Expected the end but found invalid token at character 4""#,
            ),
            (
                r#"return cjson.decode("1", 2)"#,
                r#"2:false "user_script:25: bad argument #1 to 'decode' (expected 1 argument)""#,
            ),
            (
                r#"return cjson.decode("\"\\uD834\"")"#,
                r#"2:false "user_script:25: Expected value but found invalid unicode escape code at character 2""#,
            ),
            (
                r#"return cjson.decode("\"\\uD834\\\"")"#,
                r#"2:false "user_script:25: Expected value but found invalid unicode escape code at character 2""#,
            ),
            (
                r#"return cjson.decode("\"\\uZZZZ\"")"#,
                r#"2:false "user_script:25: Expected value but found invalid unicode escape code at character 2""#,
            ),
            (
                r#"return cjson.decode("\"\\u00\"")"#,
                r#"2:false "user_script:25: Expected value but found invalid unicode escape code at character 2""#,
            ),
            (
                r#"return cjson.decode("\"a\\")"#,
                r#"2:false "user_script:25: Expected value but found invalid escape code at character 3""#,
            ),
            (
                r#"return cjson.decode("\"\\")"#,
                r#"2:false "user_script:25: Expected value but found invalid escape code at character 2""#,
            ),
            (
                r#"return cjson.decode("a\0")"#,
                r#"2:false "user_script:25: JSON parser does not support UTF-16 or UTF-32""#,
            ),
            (
                r#"return cjson.decode("\0a")"#,
                r#"2:false "user_script:25: JSON parser does not support UTF-16 or UTF-32""#,
            ),
            (
                r#"return cjson.decode("\f5")"#,
                r#"2:false "user_script:25: Expected value but found invalid token at character 1""#,
            ),
            (
                r#"return cjson.decode("truex")"#,
                r#"2:false "user_script:25: Expected the end but found invalid token at character 5""#,
            ),
            (
                r#"return cjson.decode("-"), 1"#,
                r#"2:false "user_script:25: Expected value but found invalid number at character 1""#,
            ),
            (
                r#"return cjson.decode("--1")"#,
                r#"2:false "user_script:25: Expected value but found invalid number at character 1""#,
            ),
            (r#"return cjson.decode("1.")"#, r#"2:true 1"#),
            (
                r#"return cjson.decode(".5")"#,
                r#"2:false "user_script:25: Expected value but found invalid token at character 1""#,
            ),
            (
                r#"return cjson.decode("0xg")"#,
                r#"2:false "user_script:25: Expected the end but found invalid token at character 2""#,
            ),
            (
                r#"return cjson.decode("+"), 1"#,
                r#"2:false "user_script:25: Expected value but found invalid number at character 1""#,
            ),
            (
                r#"return cjson.decode("+x")"#,
                r#"2:false "user_script:25: Expected value but found invalid number at character 1""#,
            ),
            (
                r#"return cjson.decode("[1,2,3,]")"#,
                r#"2:false "user_script:25: Expected value but found T_ARR_END at character 8""#,
            ),
            (
                r#"return cjson.decode("[,1]")"#,
                r#"2:false "user_script:25: Expected value but found T_COMMA at character 2""#,
            ),
            (
                r#"return cjson.decode("{,}")"#,
                r#"2:false "user_script:25: Expected object key string but found T_COMMA at character 2""#,
            ),
            (
                r#"return cjson.decode("{\"a\":}")"#,
                r#"2:false "user_script:25: Expected value but found T_OBJ_END at character 6""#,
            ),
            (
                r#"return cjson.decode("{\"a\"}")"#,
                r#"2:false "user_script:25: Expected colon but found T_OBJ_END at character 5""#,
            ),
            (
                r#"return cjson.decode("{\"a\":1")"#,
                r#"2:false "user_script:25: Expected comma or object end but found T_END at character 7""#,
            ),
            (
                r#"return cjson.decode("[")"#,
                r#"2:false "user_script:25: Expected value but found T_END at character 2""#,
            ),
            (
                r#"return cjson.decode("{")"#,
                r#"2:false "user_script:25: Expected object key string but found T_END at character 2""#,
            ),
            (
                r#"return cjson.decode("]")"#,
                r#"2:false "user_script:25: Expected value but found T_ARR_END at character 1""#,
            ),
            (
                r#"return cjson.decode("}")"#,
                r#"2:false "user_script:25: Expected value but found T_OBJ_END at character 1""#,
            ),
            (
                r#"return cjson.decode(":")"#,
                r#"2:false "user_script:25: Expected value but found T_COLON at character 1""#,
            ),
            (
                r#"return cjson.decode("'a'")"#,
                r#"2:false "user_script:25: Expected value but found invalid token at character 1""#,
            ),
            (
                r#"return cjson.decode("[1]]")"#,
                r#"2:false "user_script:25: Expected the end but found T_ARR_END at character 4""#,
            ),
            (
                r#"return cjson.decode("[{]")"#,
                r#"2:false "user_script:25: Expected object key string but found T_ARR_END at character 3""#,
            ),
            (
                r#"return cjson.decode(string.rep(" ", 10) .. "x")"#,
                r#"2:false "user_script:25: Expected value but found invalid token at character 11""#,
            ),
            (
                r#"return cjson.decode(nil)"#,
                r#"2:false "user_script:25: bad argument #1 to 'decode' (string expected, got nil)""#,
            ),
            (
                r#"return cjson.decode(true)"#,
                r#"2:false "user_script:25: bad argument #1 to 'decode' (string expected, got boolean)""#,
            ),
            (
                r#"return cjson.decode(1e300)"#,
                r#"2:true 1.0000000000000001e+300"#,
            ),
            (
                r#"local ok, e = pcall(cjson.decode, "[1,") return e"#,
                r#"2:true "Expected value but found T_END at character 4""#,
            ),
            (
                r#"return cjson.decode("infinityx")"#,
                r#"2:false "user_script:25: Expected the end but found invalid token at character 9""#,
            ),
            (
                r#"return cjson.decode("nan(abc")"#,
                r#"2:false "user_script:25: Expected the end but found invalid token at character 4""#,
            ),
        ]);
    }

    #[test]
    fn decodes_numbers_like_strtod() {
        check_cases(&[
            (r#"return cjson.decode("0x1F")"#, r#"2:true 31"#),
            (
                r#"return cjson.decode("[+1, Infinity, -inf, 01, -.5, 0x1.8p1]")"#,
                r#"2:true {[1]=1,[2]=inf,[3]=-inf,[4]=1,[5]=-0.5,[6]=3}"#,
            ),
            (r#"return cjson.decode("nan")"#, r#"2:true nan"#),
            (r#"return cjson.decode("-nan")"#, r#"2:true -nan"#),
            (
                r#"return cjson.decode_invalid_numbers(false), pcall(cjson.decode, "0x10"), pcall(cjson.decode, "+1"), pcall(cjson.decode, "01"), pcall(cjson.decode, "nan"), pcall(cjson.decode, "-inf"), pcall(cjson.decode, "-1.5e3")"#,
                r#"9:true false false false false false false true -1500"#,
            ),
            (
                r#"return cjson.decode("Infinity"), cjson.decode("-Infinity"), cjson.decode("inFinity"), cjson.decode("0x1p-2"), cjson.decode("+.5")"#,
                r#"6:true inf -inf inf 0.25 0.5"#,
            ),
            (
                r#"return cjson.decode("nan(123)"), cjson.decode("1E+2"), cjson.decode("1.e2")"#,
                r#"4:true nan 100 100"#,
            ),
            (
                r#"return pcall(cjson.decode, "infx"), pcall(cjson.decode, "infinit")"#,
                r#"4:true false false "Expected the end but found invalid token at character 4""#,
            ),
            (
                r#"return cjson.decode("-0"), cjson.decode("0"), cjson.decode("1e400"), cjson.decode("-1e400"), cjson.decode("1e-400")"#,
                r#"6:true -0 0 inf -inf 0"#,
            ),
            (
                r#"return cjson.decode("1e5"), cjson.decode("1E-5"), cjson.decode("-0.0"), cjson.decode("123456789012345678901234567890")"#,
                r#"5:true 100000 1.0000000000000001e-05 -0 1.2345678901234568e+29"#,
            ),
            (
                r#"return cjson.decode("0.1"), cjson.decode("2.2250738585072014e-308"), cjson.decode("4.9e-324"), cjson.decode("1.7976931348623157e308"), cjson.decode("1.7976931348623159e308")"#,
                r#"6:true 0.10000000000000001 2.2250738585072014e-308 4.9406564584124654e-324 1.7976931348623157e+308 inf"#,
            ),
            (
                r#"return cjson.decode("0x10"), cjson.decode("-0x10"), cjson.decode("0X1.8P+1"), cjson.decode("0x.1"), cjson.decode("0x1p"), 0"#,
                r#"2:false "user_script:25: Expected the end but found invalid token at character 4""#,
            ),
            (
                r#"return cjson.decode("0x1p-1075"), cjson.decode("0x1p-1074"), cjson.decode("0x1.fffffffffffff8p1023"), cjson.decode("0x123456789abcdef0123")"#,
                r#"5:true 0 4.9406564584124654e-324 inf 5.3730036427316852e+21"#,
            ),
            (
                r#"return cjson.decode("nan"), cjson.decode("NaN"), cjson.decode("-nan"), cjson.decode("Inf"), cjson.decode("-Inf"), cjson.decode("+inf")"#,
                r#"7:true nan nan -nan inf -inf inf"#,
            ),
            (
                r#"return cjson.decode("0x10"), cjson.decode("-0x10"), cjson.decode("0X1.8P+1"), cjson.decode("0x.1"), cjson.decode("0xABCp-4")"#,
                r#"6:true 16 -16 3 0.0625 171.75"#,
            ),
            (
                r#"return struct.pack(">d", cjson.decode("nan(0x5)")), struct.pack(">d", cjson.decode("nan(12)")), struct.pack(">d", cjson.decode("-nan(017)")), struct.pack(">d", cjson.decode("nan(zz)")), struct.pack(">d", cjson.decode("nan()"))"#,
                r#"6:true "\127\248\000\000\000\000\000\005" "\127\248\000\000\000\000\000\012" "\255\248\000\000\000\000\000\015" "\127\248\000\000\000\000\000\000" "\127\248\000\000\000\000\000\000""#,
            ),
            (
                r#"return struct.pack(">d", cjson.decode("nan(0xfffffffffffffffff)")), struct.pack(">d", cjson.decode("nan(08)")), struct.pack(">d", cjson.decode("nan(0x)"))"#,
                r#"4:true "\127\255\255\255\255\255\255\255" "\127\248\000\000\000\000\000\000" "\127\248\000\000\000\000\000\000""#,
            ),
            (
                r#"return cjson.decode("0x1.00000000000008p0") - 1, cjson.decode("0x1.00000000000018p0") - 1, cjson.decode("0x1.000000000000080000001p0") - 1, cjson.decode("0x10000000000000000000p0")"#,
                r#"5:true 0 4.4408920985006262e-16 2.2204460492503131e-16 7.5557863725914323e+22"#,
            ),
            (
                r#"return cjson.decode("0x0.0000000000001p-1022"), cjson.decode("0x0.00000000000008p-1022"), cjson.decode("0x0.000000000000081p-1022"), cjson.decode("0x1.fffffffffffffp-1023")"#,
                r#"5:true 4.9406564584124654e-324 0 4.9406564584124654e-324 2.2250738585072014e-308"#,
            ),
            (
                r#"return cjson.decode("0x1.ffffffffffffffp1023"), cjson.decode("0x1p1023"), cjson.decode("0x0p999999999999999"), cjson.decode("0x1p-99999999999999999999")"#,
                r#"5:true inf 8.9884656743115795e+307 0 0"#,
            ),
            (
                r#"return cjson.decode("1e-99999999999999999999"), cjson.decode("1e99999999999999999999"), cjson.decode("0e999"), cjson.decode("0.000000000000000000000000000001e30")"#,
                r#"5:true 0 inf 0 1"#,
            ),
            (
                r#"return cjson.decode("infinity"), cjson.decode("INFINITY"), cjson.decode("-infinity")"#,
                r#"4:true inf inf -inf"#,
            ),
            (r#"return cjson.decode("Nan(1)"), 1"#, r#"3:true nan 1"#),
            (
                r#"return cjson.decode("00"), cjson.decode("-01"), cjson.decode("007.5")"#,
                r#"4:true 0 -1 7.5"#,
            ),
        ]);
    }

    #[test]
    fn depth_limits() {
        check_cases(&[
            (
                r#"return cjson.decode(string.rep("[",1001))"#,
                r#"2:false "user_script:25: Found too many nested data structures (1001) at character 1001""#,
            ),
            (
                r#"return cjson.decode_max_depth(2), pcall(cjson.decode, "[[1]]"), pcall(cjson.decode, "[[[1]]]"), pcall(cjson.decode, "{\"a\":{\"b\":{}}}")"#,
                r#"6:true 2 true false false "Found too many nested data structures (3) at character 11""#,
            ),
            (
                r#"return cjson.encode_max_depth(2), pcall(cjson.encode, {{1}}), pcall(cjson.encode, {{{1}}})"#,
                r#"5:true 2 true false "Cannot serialise, excessive nesting (3)""#,
            ),
            (
                r#"return cjson.encode_max_depth(1), pcall(cjson.encode, {}), pcall(cjson.encode, {{}}), cjson.encode(1)"#,
                r#"5:true 1 true false "1""#,
            ),
            (
                r#"local t = {} local c = t for i = 2, 1000 do local x = {} c[1] = x c = x end return #cjson.encode(t)"#,
                r#"2:true 2000"#,
            ),
            (
                r#"local t = {} local c = t for i = 2, 1001 do local x = {} c[1] = x c = x end return pcall(cjson.encode, t)"#,
                r#"3:true false "Cannot serialise, excessive nesting (1001)""#,
            ),
            (
                r#"return cjson.decode(string.rep("[", 1000) .. string.rep("]", 1000)) ~= nil"#,
                r#"2:true true"#,
            ),
            (
                r#"return cjson.decode(string.rep("{\"a\":", 1000) .. "1" .. string.rep("}", 1000)) ~= nil"#,
                r#"2:true true"#,
            ),
            (
                r#"return cjson.decode(string.rep("{\"a\":", 1001) .. "1" .. string.rep("}", 1001))"#,
                r#"2:false "user_script:25: Found too many nested data structures (1001) at character 5001""#,
            ),
            (
                r#"cjson.decode_max_depth(100000) local r = {} for _, n in ipairs({7996,7997,7998,7999}) do local ok, e = pcall(function() return cjson.decode(string.rep('[', n)..string.rep(']', n)) end) r[#r+1] = n..'='..tostring(ok)..tostring(ok or e) end return table.concat(r, ' ')"#,
                r#"2:true "7996=truetrue 7997=truetrue 7998=truetrue 7999=falseuser_script:25: Found too many nested data structures (7999) at character 7999""#,
            ),
            (
                r#"cjson.decode_max_depth(100000) local r = {} for _, n in ipairs({3997,3998,3999,4000}) do local ok, e = pcall(function() return cjson.decode(string.rep('{"a":', n)..'1'..string.rep('}', n)) end) r[#r+1] = n..'='..tostring(ok)..tostring(ok or e) end return table.concat(r, ' ')"#,
                r#"2:true "3997=truetrue 3998=truetrue 3999=truetrue 4000=falseuser_script:25: Found too many nested data structures (4000) at character 19996""#,
            ),
            (
                r#"cjson.encode_max_depth(100000) local r = {} for _, n in ipairs({7995,7996,7997,7998}) do local t = {} local c = t for i=2,n do local x = {} c[1] = x c = x end local ok, e = pcall(cjson.encode, t) r[#r+1] = n..'='..tostring(ok)..tostring(ok or e) end return table.concat(r, ' ')"#,
                r#"2:true "7995=truetrue 7996=truetrue 7997=truetrue 7998=falseCannot serialise, excessive nesting (7998)""#,
            ),
            (
                r#"cjson.encode_max_depth(100000) local r = {} for _, n in ipairs({3997,3998,3999,4000}) do local t = {} local c = t for i=2,n do local x = {} c.a = x c = x end local ok, e = pcall(cjson.encode, t) r[#r+1] = n..'='..tostring(ok)..tostring(ok or e) end return table.concat(r, ' ')"#,
                r#"2:true "3997=truetrue 3998=truetrue 3999=truetrue 4000=falseCannot serialise, excessive nesting (4000)""#,
            ),
        ]);
    }

    #[test]
    fn differential_random_values() {
        check_cases(&[
            (
                r#"local seed = 1 local function rnd(n) seed = (seed * 1103515245 + 12345) % 2147483648 return math.floor(seed / 65536) % n end local function gen(d) local k = rnd(9) if k == 0 then return rnd(1000) - 500 elseif k == 1 then return (rnd(100000) - 50000) / (rnd(999) + 1) * 10 ^ (rnd(40) - 20) elseif k == 2 then local t = {} for i = 1, rnd(12) do t[i] = string.char(rnd(256)) end return table.concat(t) elseif k == 3 then return rnd(2) == 1 elseif k == 4 and d < 5 then local t = {} for i = 1, rnd(6) do t[i] = gen(d + 1) end return t elseif k == 5 and d < 5 then local t = {} for i = 1, rnd(6) do t["k" .. rnd(50)] = gen(d + 1) end return t elseif k == 6 then return 2 ^ rnd(70) * (rnd(2) == 1 and -1 or 1) elseif k == 7 then return cjson.null else return "" end end local out = {} for i = 1, 12 do local v = gen(0) local ok, j = pcall(cjson.encode, v) out[#out + 1] = tostring(ok) .. ":" .. tostring(j) end return table.concat(out, "|")"#,
                r#"2:true "true:\034\034|true:null|true:\034q\236\092u001e\209\034|true:\034\034|true:-334|true:false|true:{\034k18\034:true}|true:\034\034|true:-16384|true:true|true:null|true:-4.3372738238842e+17""#,
            ),
            (
                r#"local seed = 100 + 1 local function rnd(n) seed = (seed * 1103515245 + 12345) % 2147483648 return math.floor(seed / 65536) % n end local function gen(d) local k = rnd(9) if k == 0 then return rnd(1000) - 500 elseif k == 1 then return (rnd(100000) - 50000) / (rnd(999) + 1) * 10 ^ (rnd(40) - 20) elseif k == 2 then local t = {} for i = 1, rnd(12) do t[i] = string.char(rnd(256)) end return table.concat(t) elseif k == 3 then return rnd(2) == 1 elseif k == 4 and d < 5 then local t = {} for i = 1, rnd(6) do t[i] = gen(d + 1) end return t elseif k == 5 and d < 5 then local t = {} for i = 1, rnd(6) do t["k" .. rnd(50)] = gen(d + 1) end return t elseif k == 6 then return 2 ^ rnd(70) * (rnd(2) == 1 and -1 or 1) elseif k == 7 then return cjson.null else return "" end end local function h(s, x) for i = 1, #s do x = (x * 31 + s:byte(i)) % 2147483647 end return x end local out = {} for i = 1, 1500 do local v = gen(0) local ok, j = pcall(cjson.encode, v) out[#out + 1] = tostring(ok) .. ":" .. tostring(j) end local s = table.concat(out, "|") return #out, #s, h(s, 7)"#,
                r#"4:true 1500 35599 818102192"#,
            ),
            (
                r#"local seed = 3 local function rnd(n) seed = (seed * 1103515245 + 12345) % 2147483648 return math.floor(seed / 65536) % n end local function gen(d) local k = rnd(9) if k == 0 then return rnd(1000) - 500 elseif k == 1 then return (rnd(100000) - 50000) / (rnd(999) + 1) * 10 ^ (rnd(40) - 20) elseif k == 2 then local t = {} for i = 1, rnd(12) do t[i] = string.char(rnd(256)) end return table.concat(t) elseif k == 3 then return rnd(2) == 1 elseif k == 4 and d < 5 then local t = {} for i = 1, rnd(6) do t[i] = gen(d + 1) end return t elseif k == 5 and d < 5 then local t = {} for i = 1, rnd(6) do t["k" .. rnd(50)] = gen(d + 1) end return t elseif k == 6 then return 2 ^ rnd(70) * (rnd(2) == 1 and -1 or 1) elseif k == 7 then return cjson.null else return "" end end local out = {} for i = 1, 12 do local v = gen(0) local ok, j = pcall(cjson.encode, v) if ok then out[#out + 1] = dumpall(pcall(cjson.decode, j)) end end return table.concat(out, "|")"#,
                r#"2:true "2:true \034\034|2:true -1.4411518807586e+17|2:true \034\034|2:true null|2:true {[1]=\034\092222\034,[2]={[1]=-1.4411518807586e+17,[2]=-0.00047703832752613002,[3]=-99638297872340,[4]={[\034k27\034]=null,[\034k41\034]=-48}},[3]=\034\092151D\092150\092233s\092196\092092\092178\092218\092023\034}|2:true -6.0278597785977999e+18|2:true \034\034|2:true \034\034|2:true null|2:true {[\034k14\034]=-6.0632214765101002e-09,[\034k21\034]=true}|2:true -4|2:true -0.050614709110866997""#,
            ),
            (
                r#"local seed = 100 + 3 local function rnd(n) seed = (seed * 1103515245 + 12345) % 2147483648 return math.floor(seed / 65536) % n end local function gen(d) local k = rnd(9) if k == 0 then return rnd(1000) - 500 elseif k == 1 then return (rnd(100000) - 50000) / (rnd(999) + 1) * 10 ^ (rnd(40) - 20) elseif k == 2 then local t = {} for i = 1, rnd(12) do t[i] = string.char(rnd(256)) end return table.concat(t) elseif k == 3 then return rnd(2) == 1 elseif k == 4 and d < 5 then local t = {} for i = 1, rnd(6) do t[i] = gen(d + 1) end return t elseif k == 5 and d < 5 then local t = {} for i = 1, rnd(6) do t["k" .. rnd(50)] = gen(d + 1) end return t elseif k == 6 then return 2 ^ rnd(70) * (rnd(2) == 1 and -1 or 1) elseif k == 7 then return cjson.null else return "" end end local function h(s, x) for i = 1, #s do x = (x * 31 + s:byte(i)) % 2147483647 end return x end local out = {} for i = 1, 1500 do local v = gen(0) local ok, j = pcall(cjson.encode, v) if ok then out[#out + 1] = dumpall(pcall(cjson.decode, j)) end end local s = table.concat(out, "|") return #out, #s, h(s, 7)"#,
                r#"4:true 1500 47442 1998909694"#,
            ),
        ]);
    }

    #[test]
    fn differential_random_inputs() {
        check_cases(&[
            (
                r#"local seed = 4 local function rnd(n) seed = (seed * 1103515245 + 12345) % 2147483648 return math.floor(seed / 65536) % n end local alpha = '{}[]:,"\\u0123456789abcdefxXpP.eE+-tnfrl \t\nINaA' local out = {} for i = 1, 12 do local t = {} for j = 1, rnd(16) do local r = rnd(5) if r == 0 then t[j] = string.char(rnd(256)) else local p = rnd(#alpha) + 1 t[j] = alpha:sub(p, p) end end out[i] = dumpall(pcall(cjson.decode, table.concat(t))) end return table.concat(out, "|")"#,
                r#"2:true "2:false \034Expected the end but found invalid token at character 4\034|2:false \034Expected value but found invalid token at character 1\034|2:false \034Expected value but found invalid token at character 1\034|2:false \034Expected value but found invalid token at character 1\034|2:false \034Expected value but found invalid token at character 1\034|2:false \034Expected value but found invalid token at character 1\034|2:false \034Expected value but found invalid number at character 1\034|2:false \034Expected value but found invalid token at character 1\034|2:false \034Expected value but found invalid token at character 1\034|2:false \034Expected value but found invalid token at character 1\034|2:false \034Expected the end but found invalid token at character 3\034|2:false \034Expected value but found invalid token at character 1\034""#,
            ),
            (
                r#"local seed = 100 + 4 local function rnd(n) seed = (seed * 1103515245 + 12345) % 2147483648 return math.floor(seed / 65536) % n end local alpha = '{}[]:,"\\u0123456789abcdefxXpP.eE+-tnfrl \t\nINaA' local function h(s, x) for i = 1, #s do x = (x * 31 + s:byte(i)) % 2147483647 end return x end local out = {} for i = 1, 1500 do local t = {} for j = 1, rnd(16) do local r = rnd(5) if r == 0 then t[j] = string.char(rnd(256)) else local p = rnd(#alpha) + 1 t[j] = alpha:sub(p, p) end end out[i] = dumpall(pcall(cjson.decode, table.concat(t))) end local s = table.concat(out, "|") return #out, #s, h(s, 7)"#,
                r#"4:true 1500 95037 247147499"#,
            ),
            (
                r#"local seed = 5 local function rnd(n) seed = (seed * 1103515245 + 12345) % 2147483648 return math.floor(seed / 65536) % n end local alpha = '{}[]:,"\\u0123456789.eE+-tnfrulse \n' local out = {} for i = 1, 12 do local t = {} for j = 1, rnd(24) do local p = rnd(#alpha) + 1 t[j] = alpha:sub(p, p) end out[i] = dumpall(pcall(cjson.decode, table.concat(t))) end return table.concat(out, "|")"#,
                r#"2:true "2:false \034Expected value but found invalid token at character 1\034|2:false \034Expected value but found invalid token at character 1\034|2:false \034Expected value but found invalid token at character 1\034|2:false \034Expected value but found invalid token at character 1\034|2:false \034Expected value but found T_END at character 1\034|2:false \034Expected value but found T_COMMA at character 1\034|2:false \034Expected object key string but found invalid token at character 2\034|2:false \034Expected value but found invalid token at character 1\034|2:false \034Expected the end but found invalid token at character 2\034|2:false \034Expected value but found invalid number at character 2\034|2:false \034Expected value but found invalid token at character 1\034|2:false \034Expected the end but found invalid token at character 2\034""#,
            ),
            (
                r#"local seed = 100 + 5 local function rnd(n) seed = (seed * 1103515245 + 12345) % 2147483648 return math.floor(seed / 65536) % n end local alpha = '{}[]:,"\\u0123456789.eE+-tnfrulse \n' local function h(s, x) for i = 1, #s do x = (x * 31 + s:byte(i)) % 2147483647 end return x end local out = {} for i = 1, 1500 do local t = {} for j = 1, rnd(24) do local p = rnd(#alpha) + 1 t[j] = alpha:sub(p, p) end out[i] = dumpall(pcall(cjson.decode, table.concat(t))) end local s = table.concat(out, "|") return #out, #s, h(s, 7)"#,
                r#"4:true 1500 94324 38099139"#,
            ),
        ]);
    }

    // END REDIS CASES
}
