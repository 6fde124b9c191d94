//! Redis's conversion rules between RESP replies and Lua values.
//!
//! RESP -> Lua (what `redis.call` returns): integer -> number, bulk -> string, null bulk or
//! null array -> `false`, array -> table, status -> `{ok=...}`, error -> `{err=...}`; with
//! `redis.setresp(3)` also map -> `{map=...}`, set -> `{set=...}`, double -> `{double=n}`,
//! boolean, null -> nil, big number -> `{big_number=...}`, verbatim -> `{verbatim_string=...}`.
//!
//! Lua -> reply (what a script returns): number -> integer (truncated), string -> bulk,
//! `true` -> 1, `false` and nil -> null, a table -> an array up to its first nil, unless it
//! carries `err` (error), `ok` (status) or one of the RESP3 type fields above.

use crate::resp::ReplyWriter;
use bytes::Bytes;
use mlua::{IntoLua, Lua, MultiValue, Table, Value};

/// Deepest table a script may return (a table that holds itself would recurse forever).
const MAX_DEPTH: usize = 1000;

/// The argv of a `redis.call(...)`: strings and numbers only (numbers as `%.17g`).
pub fn argv_of(args: MultiValue) -> Result<Vec<Bytes>, &'static str> {
    if args.is_empty() {
        return Err("ERR Please specify at least one argument for this redis lib call");
    }
    let mut argv = Vec::with_capacity(args.len());
    for a in args {
        argv.push(match a {
            Value::String(s) => Bytes::copy_from_slice(&s.as_bytes()),
            Value::Integer(i) => Bytes::from(i.to_string()),
            Value::Number(n) => Bytes::from(crate::resp::format_g17(n)),
            _ => return Err("ERR Lua redis lib command arguments must be strings or integers"),
        });
    }
    Ok(argv)
}

/// `({err=msg}, true)`: what the bridge returns for a failed call.
pub fn error_value(lua: &Lua, msg: &str) -> mlua::Result<MultiValue> {
    let t = lua.create_table()?;
    t.raw_set("err", msg)?;
    Ok(MultiValue::from_vec(vec![
        Value::Table(t),
        Value::Boolean(true),
    ]))
}

/// The Lua value of one RESP reply, and whether it was an error.
pub fn lua_of_reply(lua: &Lua, reply: &[u8]) -> mlua::Result<MultiValue> {
    let mut pos = 0;
    let failed = reply.first() == Some(&b'-');
    let v = parse(lua, reply, &mut pos, 0)?;
    Ok(MultiValue::from_vec(vec![v, Value::Boolean(failed)]))
}

fn line<'a>(buf: &'a [u8], pos: &mut usize) -> mlua::Result<&'a [u8]> {
    let rest = buf.get(*pos..).unwrap_or_default();
    let end = rest
        .windows(2)
        .position(|w| w == b"\r\n")
        .ok_or_else(|| mlua::Error::runtime("truncated reply"))?;
    *pos += end + 2;
    Ok(&rest[..end])
}

fn number(text: &[u8]) -> i64 {
    std::str::from_utf8(text)
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0)
}

/// Marks the `{err=...}` table of a `redis.call`/`redis.pcall` reply: its error is already
/// counted (INFO errorstats), so a script that returns or raises it is not counted twice.
pub const COUNTED: &str = "stats_counted";

fn counted_error(lua: &Lua, msg: &[u8]) -> mlua::Result<Value> {
    let t = lua.create_table()?;
    t.raw_set("err", lua.create_string(msg)?)?;
    t.raw_set(COUNTED, true)?;
    Ok(Value::Table(t))
}

/// Writes a script's error reply, marked as counted if it came from a `redis.call`.
pub fn write_error(t: Option<&Table>, msg: &str, out: &mut ReplyWriter) {
    if t.is_some_and(|t| t.raw_get::<bool>(COUNTED).unwrap_or(false)) {
        out.error_counted(msg);
    } else {
        out.error(msg);
    }
}

fn table_with(lua: &Lua, field: &str, v: impl IntoLua) -> mlua::Result<Value> {
    let t = lua.create_table()?;
    t.raw_set(field, v)?;
    Ok(Value::Table(t))
}

fn parse(lua: &Lua, buf: &[u8], pos: &mut usize, depth: usize) -> mlua::Result<Value> {
    if depth > MAX_DEPTH {
        return Err(mlua::Error::runtime("reply nested too deep"));
    }
    let kind = *buf
        .get(*pos)
        .ok_or_else(|| mlua::Error::runtime("truncated reply"))?;
    *pos += 1;
    let head = line(buf, pos)?;
    Ok(match kind {
        b'+' => table_with(lua, "ok", lua.create_string(head)?)?,
        b'-' => counted_error(lua, head)?,
        b':' => Value::Integer(number(head)),
        b'$' | b'=' | b'!' => {
            let n = number(head);
            if n < 0 {
                return Ok(Value::Boolean(false));
            }
            let body = buf
                .get(*pos..*pos + n as usize)
                .ok_or_else(|| mlua::Error::runtime("truncated reply"))?;
            *pos += n as usize + 2;
            match kind {
                b'=' => {
                    let (format, text) = body.split_at(body.len().min(4));
                    let t = lua.create_table()?;
                    t.raw_set(
                        "format",
                        lua.create_string(format.get(..3).unwrap_or_default())?,
                    )?;
                    t.raw_set("string", lua.create_string(text)?)?;
                    table_with(lua, "verbatim_string", t)?
                }
                b'!' => counted_error(lua, body)?,
                _ => Value::String(lua.create_string(body)?),
            }
        }
        b'*' | b'~' | b'>' => {
            let n = number(head);
            if n < 0 {
                return Ok(Value::Boolean(false));
            }
            let t = lua.create_table_with_capacity(n as usize, 0)?;
            if kind == b'~' {
                for _ in 0..n {
                    let m = parse(lua, buf, pos, depth + 1)?;
                    t.raw_set(m, true)?;
                }
                return table_with(lua, "set", t);
            }
            for i in 0..n {
                t.raw_set(i + 1, parse(lua, buf, pos, depth + 1)?)?;
            }
            Value::Table(t)
        }
        b'%' => {
            let t = lua.create_table()?;
            for _ in 0..number(head) {
                let k = parse(lua, buf, pos, depth + 1)?;
                let v = parse(lua, buf, pos, depth + 1)?;
                t.raw_set(k, v)?;
            }
            table_with(lua, "map", t)?
        }
        b'_' => Value::Nil,
        b'#' => Value::Boolean(head == b"t"),
        b',' => {
            let v: f64 = std::str::from_utf8(head)
                .ok()
                .and_then(|s| s.parse().ok())
                .unwrap_or(0.0);
            table_with(lua, "double", v)?
        }
        b'(' => table_with(lua, "big_number", lua.create_string(head)?)?,
        _ => return Err(mlua::Error::runtime("unknown reply type")),
    })
}

/// Writes a script's result. `resp3` is whether the script called `redis.setresp(3)`
/// (booleans then keep their type); the client's protocol is `out.resp3`.
pub fn write_result(v: &Value, resp3: bool, out: &mut ReplyWriter) {
    let mut tmp = ReplyWriter::with_capacity(256);
    tmp.resp3 = out.resp3;
    match write(v, resp3, &mut tmp, 0) {
        Ok(()) => {
            out.buf.extend_from_slice(&tmp.buf);
            out.errors.append(&mut tmp.errors);
        }
        Err(e) => out.error(e),
    }
}

fn write(v: &Value, resp3: bool, out: &mut ReplyWriter, depth: usize) -> Result<(), &'static str> {
    if depth > MAX_DEPTH {
        return Err("ERR reached lua stack limit");
    }
    match v {
        Value::Nil => out.null(),
        Value::Boolean(b) if resp3 => out.boolean(*b),
        Value::Boolean(true) => out.int(1),
        Value::Boolean(false) => out.null(),
        Value::Integer(i) => out.int(*i),
        Value::Number(n) => out.int(*n as i64),
        Value::String(s) => out.bulk(&s.as_bytes()),
        Value::Table(t) => write_table(t, resp3, out, depth)?,
        _ => out.null(),
    }
    Ok(())
}

fn text_field(t: &Table, name: &str) -> Option<String> {
    match t.raw_get::<Value>(name).ok()? {
        Value::String(s) => Some(String::from_utf8_lossy(&s.as_bytes()).into_owned()),
        _ => None,
    }
}

fn write_table(
    t: &Table,
    resp3: bool,
    out: &mut ReplyWriter,
    depth: usize,
) -> Result<(), &'static str> {
    if let Some(err) = text_field(t, "err") {
        write_error(Some(t), &err, out);
        return Ok(());
    }
    if let Some(ok) = text_field(t, "ok") {
        out.simple(&ok.replace(['\r', '\n'], " "));
        return Ok(());
    }
    if let Ok(Value::Number(_) | Value::Integer(_)) = t.raw_get::<Value>("double") {
        let d: f64 = t.raw_get("double").unwrap_or(0.0);
        out.score(d);
        return Ok(());
    }
    if let Some(big) = text_field(t, "big_number") {
        if out.resp3 {
            out.buf.extend_from_slice(format!("({big}\r\n").as_bytes());
        } else {
            out.bulk(big.as_bytes());
        }
        return Ok(());
    }
    if let Ok(Value::Table(v)) = t.raw_get::<Value>("verbatim_string") {
        let format = text_field(&v, "format").unwrap_or_else(|| "txt".into());
        let text = match v.raw_get::<Value>("string") {
            Ok(Value::String(s)) => s.as_bytes().to_vec(),
            _ => Vec::new(),
        };
        if out.resp3 {
            out.buf
                .extend_from_slice(format!("={}\r\n{format}:", text.len() + 4).as_bytes());
            out.buf.extend_from_slice(&text);
            out.buf.extend_from_slice(b"\r\n");
        } else {
            out.bulk(&text);
        }
        return Ok(());
    }
    if let Ok(Value::Table(m)) = t.raw_get::<Value>("map") {
        let pairs: Vec<(Value, Value)> = m.pairs::<Value, Value>().filter_map(Result::ok).collect();
        out.map(pairs.len());
        for (k, v) in &pairs {
            write(k, resp3, out, depth + 1)?;
            write(v, resp3, out, depth + 1)?;
        }
        return Ok(());
    }
    if let Ok(Value::Table(s)) = t.raw_get::<Value>("set") {
        let members: Vec<Value> = s
            .pairs::<Value, Value>()
            .filter_map(Result::ok)
            .map(|(k, _)| k)
            .collect();
        out.set(members.len());
        for m in &members {
            write(m, resp3, out, depth + 1)?;
        }
        return Ok(());
    }
    let mut items = Vec::new();
    for i in 1.. {
        match t.raw_get::<Value>(i) {
            Ok(Value::Nil) | Err(_) => break,
            Ok(v) => items.push(v),
        }
    }
    out.array(items.len());
    for v in &items {
        write(v, resp3, out, depth + 1)?;
    }
    Ok(())
}
