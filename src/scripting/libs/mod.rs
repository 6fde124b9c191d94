//! The four C libraries Redis ships into its Lua environment — `cjson`, `cmsgpack`, `bit` and
//! `struct` — rebuilt in Rust over mlua.
//!
//! Scripts must not be able to tell them from Redis 7.0's: the same globals holding tables of
//! functions, the same results byte for byte, and the same error messages (clients and scripts
//! match on them). Each library file lists the few places where we deliberately differ.
//!
//! Two mechanisms shared by all four live here:
//!
//! * **Errors are Lua strings.** An error returned from an mlua callback reaches the script as
//!   a userdata, while Redis's libraries raise plain strings with `luaL_error` (prefixed with the
//!   caller's `chunk:line:`) or `luaL_argerror` (`bad argument #n to 'name' (...)`, named from the
//!   call site). So every library function is an mlua callback wrapped in a tiny C closure
//!   ([`call_and_raise`]) that turns a returned [`Failure`] into exactly the error the C library
//!   would raise, using Lua's own `luaL_where` / `luaL_argerror`.
//! * **Few live references.** mlua keeps every Rust-held Lua value in an auxiliary stack of
//!   about 8000 slots; running out makes mlua fail. Code here therefore never holds a number of
//!   values that grows with the input: nesting is walked with explicit stacks whose Lua values
//!   sit in a Lua table, and long result lists are handed back in a table that [`call_and_raise`]
//!   spreads onto the Lua stack.
//!
//! Not done here: making these tables read-only, or any sandboxing; that is the scripting
//! layer's job, as it is Redis's `scriptingInit`.

use std::ffi::c_int;

use mlua::{ffi, Function, Lua, MultiValue, Table, Value};

mod bit;
mod cjson;
mod cmsgpack;
mod structlib;

/// Registers the globals `cjson`, `cmsgpack`, `bit` and `struct`, as Redis does when it
/// creates a scripting VM.
pub fn install(lua: &Lua) -> mlua::Result<()> {
    let globals = lua.globals();
    globals.set("cjson", cjson::module(lua)?)?;
    globals.set("cmsgpack", cmsgpack::module(lua)?)?;
    globals.set("bit", bit::module(lua)?)?;
    globals.set("struct", structlib::module(lua)?)?;
    Ok(())
}

/// Stack slots a C function may use in Lua 5.1 (`LUAI_MAXCSTACK`). Redis's libraries fail with
/// "stack overflow (...)" or a nesting error when they would pass it; our code counts the slots
/// the C code would use so that it fails on the same input with the same message.
pub(crate) const C_STACK_SLOTS: usize = 8000;

/// Why a library call failed, and so which kind of Lua error the script sees.
#[derive(Debug)]
pub(crate) enum Failure {
    /// Raised like `luaL_error`: the caller's position is prepended.
    Error(Vec<u8>),
    /// Raised like `luaL_argerror(L, narg, msg)`.
    Arg(i32, Vec<u8>),
    /// Raised as the bare message, as the Lua VM raises its own errors ("table index is nil").
    Bare(Vec<u8>),
    /// A failure of the Lua runtime itself (out of memory, ...), passed through untouched.
    Lua(mlua::Error),
}

impl Failure {
    pub(crate) fn error(msg: impl Into<Vec<u8>>) -> Self {
        Failure::Error(msg.into())
    }

    pub(crate) fn arg(narg: usize, msg: impl Into<Vec<u8>>) -> Self {
        Failure::Arg(i32::try_from(narg).unwrap_or(i32::MAX), msg.into())
    }

    /// What `luaL_checkstack(L, n, what)` raises when the C stack is full.
    pub(crate) fn stack_overflow(what: &str) -> Self {
        Failure::error(format!("stack overflow ({what})"))
    }

    /// What Lua raises when an allocation fails; used when an encoder's output passes
    /// [`MAX_OUTPUT`] instead of letting the process die on a huge allocation.
    pub(crate) fn out_of_memory() -> Self {
        Failure::Bare(b"not enough memory".to_vec())
    }
}

impl From<mlua::Error> for Failure {
    fn from(e: mlua::Error) -> Self {
        Failure::Lua(e)
    }
}

pub(crate) type LibResult<T> = Result<T, Failure>;

/// Largest string an encoder builds (Redis's default `proto-max-bulk-len`: no larger string
/// could be stored or replied anyway). The C libraries have no such bound and would abort the
/// server on a failed allocation; a script error is the kinder outcome.
pub(crate) const MAX_OUTPUT: usize = 512 * 1024 * 1024;

/// What a library function hands back to the script.
pub(crate) enum Reply {
    /// A few values, returned directly.
    Values(MultiValue),
    /// `len` values stored at `table[1..=len]`, spread onto the stack by [`call_and_raise`]
    /// so that thousands of results cost one mlua reference.
    Spread { table: Table, len: usize },
}

impl Reply {
    pub(crate) fn one(v: Value) -> LibResult<Reply> {
        let mut values = MultiValue::new();
        values.push_back(v);
        Ok(Reply::Values(values))
    }

    pub(crate) fn many(values: Vec<Value>) -> LibResult<Reply> {
        Ok(Reply::Values(MultiValue::from_vec(values)))
    }
}

/// Calls with more arguments than this get them packed in a table (see [`Args`]).
const INLINE_ARGS: c_int = 16;

/// Status codes in the first value a raw callback returns to [`call_and_raise`].
const STATUS_VALUES: i64 = 0;
const STATUS_SPREAD: i64 = 1;
const STATUS_ERROR: i64 = 2;
const STATUS_ARG: i64 = 3;
const STATUS_BARE: i64 = 4;

/// Adds `table[name]`, a Lua function running `f` and raising its failures as Redis would.
pub(crate) fn add_function<F>(lua: &Lua, table: &Table, name: &str, f: F) -> mlua::Result<()>
where
    F: Fn(&Lua, Args) -> LibResult<Reply> + mlua::MaybeSend + 'static,
{
    let raw = lua.create_function(move |lua, values: MultiValue| {
        let status = |code: i64| Value::Integer(code);
        let out = match f(lua, Args::new(lua, values)) {
            Ok(Reply::Values(mut values)) => {
                values.push_front(status(STATUS_VALUES));
                return Ok(values);
            }
            Ok(Reply::Spread { table, len }) => {
                let len = i64::try_from(len).unwrap_or(i64::MAX);
                vec![
                    status(STATUS_SPREAD),
                    Value::Integer(len),
                    Value::Table(table),
                ]
            }
            Err(Failure::Error(msg)) => {
                vec![status(STATUS_ERROR), Value::String(lua.create_string(msg)?)]
            }
            Err(Failure::Arg(narg, msg)) => vec![
                status(STATUS_ARG),
                Value::Integer(i64::from(narg)),
                Value::String(lua.create_string(msg)?),
            ],
            Err(Failure::Bare(msg)) => {
                vec![status(STATUS_BARE), Value::String(lua.create_string(msg)?)]
            }
            Err(Failure::Lua(e)) => return Err(e),
        };
        Ok(MultiValue::from_vec(out))
    })?;
    // SAFETY: `exec_raw` runs the closure in protected mode with `raw` pushed on the stack;
    // `lua_pushcclosure` pops it as the upvalue and leaves the new function as the one result.
    let wrapped: Function =
        unsafe { lua.exec_raw(raw, |state| ffi::lua_pushcclosure(state, call_and_raise, 1))? };
    table.raw_set(name, wrapped)
}

/// The C function scripts actually call: it calls the mlua callback in its upvalue and turns
/// the status protocol of [`add_function`] into results or a raised error.
///
/// The callback receives `nil, args...`, or `table, n` when there are more than
/// [`INLINE_ARGS`] arguments.
///
/// Being a C function is the point: `luaL_where(L, 1)` then names the script line that called
/// it and `luaL_argerror` names the function as the call site spelled it, exactly as for
/// Redis's C libraries.
unsafe extern "C-unwind" fn call_and_raise(state: *mut ffi::lua_State) -> c_int {
    // SAFETY (whole body): standard Lua C API use on the stack of this C call. The frame holds
    // no Rust value with a destructor, so Lua errors may unwind (longjmp) through it; Lua
    // guarantees LUA_MINSTACK (20) free slots on entry, and `lua_checkstack` guards the spread.
    unsafe {
        let nargs = ffi::lua_gettop(state);
        if nargs <= INLINE_ARGS {
            ffi::lua_pushvalue(state, ffi::lua_upvalueindex(1));
            ffi::lua_pushnil(state);
            ffi::lua_insert(state, 1);
            ffi::lua_insert(state, 1);
            ffi::lua_call(state, nargs + 1, ffi::LUA_MULTRET);
        } else {
            ffi::lua_createtable(state, nargs, 0);
            for i in 1..=nargs {
                ffi::lua_pushvalue(state, i);
                ffi::lua_rawseti_(state, -2, i);
            }
            ffi::lua_replace(state, 1);
            ffi::lua_settop(state, 1);
            ffi::lua_pushvalue(state, ffi::lua_upvalueindex(1));
            ffi::lua_insert(state, 1);
            ffi::lua_pushinteger(state, nargs as ffi::lua_Integer);
            ffi::lua_call(state, 2, ffi::LUA_MULTRET);
        }
        match ffi::lua_tonumber(state, 1) as i64 {
            STATUS_VALUES => {
                ffi::lua_remove(state, 1);
                ffi::lua_gettop(state)
            }
            STATUS_SPREAD => {
                let len = ffi::lua_tonumber(state, 2) as c_int;
                ffi::lua_replace(state, 1); // the table (index 3) moves to index 1
                ffi::lua_settop(state, 1);
                if ffi::lua_checkstack(state, len) == 0 {
                    ffi::luaL_error(state, c"too many results to unpack".as_ptr());
                }
                for i in 1..=len {
                    ffi::lua_rawgeti_(state, 1, i);
                }
                len
            }
            STATUS_ARG => {
                let narg = ffi::lua_tonumber(state, 2) as c_int;
                let msg = ffi::lua_tolstring(state, 3, std::ptr::null_mut());
                ffi::luaL_argerror(state, narg, msg)
            }
            STATUS_ERROR => {
                ffi::luaL_where(state, 1);
                ffi::lua_pushvalue(state, 2);
                ffi::lua_concat(state, 2);
                ffi::lua_error(state)
            }
            _ => {
                ffi::lua_pushvalue(state, 2);
                ffi::lua_error(state)
            }
        }
    }
}

/// The arguments of one call, with accessors that check them as `luaL_check*` does and fail
/// with the same messages. Positions are 1-based, as in the C API.
pub(crate) struct Args<'a> {
    lua: &'a Lua,
    storage: ArgStorage,
}

/// Arguments as [`call_and_raise`] passed them: a few inline, many packed in a table (each
/// inline argument costs an mlua reference; thousands would exhaust them).
enum ArgStorage {
    Inline(MultiValue),
    Packed { table: Table, len: usize },
}

impl<'a> Args<'a> {
    /// Reads the calling convention of [`call_and_raise`]: a nil followed by the arguments,
    /// or a table holding them followed by their count.
    fn new(lua: &'a Lua, mut values: MultiValue) -> Self {
        let storage = match values.pop_front() {
            Some(Value::Table(table)) => {
                let len = values
                    .front()
                    .and_then(number_value)
                    .map_or(0, |n| n as usize);
                ArgStorage::Packed { table, len }
            }
            _ => ArgStorage::Inline(values),
        };
        Args { lua, storage }
    }

    /// `lua_gettop`.
    pub(crate) fn len(&self) -> usize {
        match &self.storage {
            ArgStorage::Inline(values) => values.len(),
            ArgStorage::Packed { len, .. } => *len,
        }
    }

    /// The argument at `i`, `None` past the end (Lua's "none").
    pub(crate) fn get(&self, i: usize) -> LibResult<Option<Value>> {
        if i == 0 || i > self.len() {
            return Ok(None);
        }
        Ok(Some(match &self.storage {
            ArgStorage::Inline(values) => values.get(i - 1).cloned().unwrap_or(Value::Nil),
            ArgStorage::Packed { table, .. } => table.raw_get(i)?,
        }))
    }

    /// `lua_isnoneornil`.
    pub(crate) fn is_none_or_nil(&self, i: usize) -> LibResult<bool> {
        Ok(matches!(self.get(i)?, None | Some(Value::Nil)))
    }

    /// `lua_tonumber`: the number, or `None` when the value is neither a number nor a string
    /// that Lua converts to one.
    pub(crate) fn to_number(&self, i: usize) -> LibResult<Option<f64>> {
        match self.get(i)? {
            Some(v) => to_number(self.lua, &v),
            None => Ok(None),
        }
    }

    /// `luaL_checknumber`.
    pub(crate) fn check_number(&self, i: usize) -> LibResult<f64> {
        match self.to_number(i)? {
            Some(n) => Ok(n),
            None => Err(self.type_error(i, "number")?),
        }
    }

    /// `luaL_checkinteger`: the number truncated toward zero as C's cast does.
    pub(crate) fn check_integer(&self, i: usize) -> LibResult<i64> {
        Ok(c_double_to_i64(self.check_number(i)?))
    }

    /// `luaL_optinteger`.
    pub(crate) fn opt_integer(&self, i: usize, default: i64) -> LibResult<i64> {
        if self.is_none_or_nil(i)? {
            Ok(default)
        } else {
            self.check_integer(i)
        }
    }

    /// `luaL_checklstring`: strings, and numbers converted as Lua converts them.
    pub(crate) fn check_string(&self, i: usize) -> LibResult<mlua::LuaString> {
        let coerced = match self.get(i)? {
            Some(Value::String(s)) => Some(s),
            Some(v @ (Value::Integer(_) | Value::Number(_))) => self.lua.coerce_string(v)?,
            _ => None,
        };
        match coerced {
            Some(s) => Ok(s),
            None => Err(self.type_error(i, "string")?),
        }
    }

    /// `luaL_typerror`: "bad argument #i to 'f' (number expected, got nil)".
    pub(crate) fn type_error(&self, i: usize, expected: &str) -> LibResult<Failure> {
        let got = self.get(i)?.map_or("no value", |v| type_name(&v));
        Ok(Failure::arg(i, format!("{expected} expected, got {got}")))
    }
}

/// The open containers of an encoder or decoder walking nested tables without recursion.
///
/// Each level has a table, one Lua value (an iteration key, or a map key waiting for its
/// value) and Rust-side state `M`. Only the innermost level's Lua values are held in Rust; the
/// others are parked in a Lua table, so any depth costs a constant number of mlua references.
pub(crate) struct Nest<'a, M> {
    lua: &'a Lua,
    top: Option<(Table, Value, M)>,
    below: Vec<M>,
    parked: Option<Table>,
}

impl<'a, M> Nest<'a, M> {
    pub(crate) fn new(lua: &'a Lua) -> Self {
        Nest {
            lua,
            top: None,
            below: Vec::new(),
            parked: None,
        }
    }

    /// Number of open levels.
    pub(crate) fn depth(&self) -> usize {
        self.below.len() + usize::from(self.top.is_some())
    }

    /// The innermost level: its table, its Lua value and its state.
    pub(crate) fn top_mut(&mut self) -> Option<(&Table, &mut Value, &mut M)> {
        self.top.as_mut().map(|(t, v, m)| (&*t, v, m))
    }

    /// Opens a level inside the current one.
    pub(crate) fn push(&mut self, table: Table, state: M) -> LibResult<()> {
        if let Some((t, v, m)) = self.top.take() {
            let slot = 2 * self.below.len() + 1;
            let parked = self.parked()?;
            parked.raw_set(slot, t)?;
            parked.raw_set(slot + 1, v)?;
            self.below.push(m);
        }
        self.top = Some((table, Value::Nil, state));
        Ok(())
    }

    /// Closes the innermost level, returning its table and state.
    pub(crate) fn pop(&mut self) -> LibResult<Option<(Table, M)>> {
        let Some((table, _, state)) = self.top.take() else {
            return Ok(None);
        };
        if let Some(m) = self.below.pop() {
            let slot = 2 * self.below.len() + 1;
            let parked = self.parked()?;
            let t: Table = parked.raw_get(slot)?;
            let v: Value = parked.raw_get(slot + 1)?;
            parked.raw_set(slot, Value::Nil)?;
            parked.raw_set(slot + 1, Value::Nil)?;
            self.top = Some((t, v, m));
        }
        Ok(Some((table, state)))
    }

    fn parked(&mut self) -> LibResult<Table> {
        if let Some(t) = &self.parked {
            return Ok(t.clone());
        }
        let t = self.lua.create_table()?;
        self.parked = Some(t.clone());
        Ok(t)
    }
}

/// `lua_next`: the entry after `key` (nil: the first one), in the order `pairs` uses, or `None`
/// at the end. Unlike mlua's iterators it can resume from any key, which the non-recursive
/// encoders need.
pub(crate) fn table_next(
    lua: &Lua,
    table: &Table,
    key: Value,
) -> LibResult<Option<(Value, Value)>> {
    // SAFETY: `exec_raw` pushes `table` and `key` and runs the closure in protected mode (an
    // invalid key raises a Lua error that comes back as `Err`). `lua_next` pops the key and
    // pushes the next key and value, which we return after removing the table; at the end it
    // pushes nothing and we pop the table, returning no values (read as two nils).
    let (k, v): (Value, Value) = unsafe {
        lua.exec_raw((table, key), |state| {
            if ffi::lua_next(state, -2) != 0 {
                ffi::lua_remove(state, -3);
            } else {
                ffi::lua_pop(state, 1);
            }
        })?
    };
    Ok(if k.is_nil() { None } else { Some((k, v)) })
}

/// `lua_tonumber` on one value.
pub(crate) fn to_number(lua: &Lua, v: &Value) -> LibResult<Option<f64>> {
    Ok(match v {
        Value::Integer(i) => Some(*i as f64),
        Value::Number(n) => Some(*n),
        Value::String(_) => lua.coerce_number(v.clone())?,
        _ => None,
    })
}

/// The number in `v` if it is a Lua number (mlua shows integral ones as `Integer`).
pub(crate) fn number_value(v: &Value) -> Option<f64> {
    match v {
        Value::Integer(i) => Some(*i as f64),
        Value::Number(n) => Some(*n),
        _ => None,
    }
}

/// `luaL_typename`, as Lua 5.1 spells the types (light userdata is plain "userdata").
pub(crate) fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Nil => "nil",
        Value::Boolean(_) => "boolean",
        Value::Integer(_) | Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Table(_) => "table",
        Value::Function(_) => "function",
        Value::Thread(_) => "thread",
        _ => "userdata",
    }
}

/// C's `(int64_t)d` on x86-64 (`cvttsd2si`): truncation, and `INT64_MIN` for NaN and values
/// out of range. Redis's libraries rely on this cast in several places.
pub(crate) fn c_double_to_i64(d: f64) -> i64 {
    if (-TWO_63..TWO_63).contains(&d) {
        d as i64
    } else {
        i64::MIN
    }
}

/// 2^63, exactly.
const TWO_63: f64 = 9_223_372_036_854_775_808.0;

/// C's `(int)d` on x86-64: truncation, and `INT_MIN` for NaN and values out of range.
pub(crate) fn c_double_to_i32(d: f64) -> i32 {
    if d > -2_147_483_649.0 && d < 2_147_483_648.0 {
        d as i32
    } else {
        i32::MIN
    }
}

/// C's `(uint64_t)d` as gcc compiles it for x86-64: below 2^63 (and for NaN) it is the signed
/// conversion reinterpreted; from 2^63 on it converts `d - 2^63` and flips the top bit, which
/// yields 0 for 2^64 and beyond.
pub(crate) fn c_double_to_u64(d: f64) -> u64 {
    if d >= TWO_63 {
        (c_double_to_i64(d - TWO_63) as u64) ^ (1 << 63)
    } else {
        c_double_to_i64(d) as u64
    }
}

#[cfg(test)]
pub(crate) mod testing {
    //! Runs snippets the way the Redis comparison did: `dumpall(pcall(function() <snippet> end))`
    //! in a fresh VM, rendered by the same Lua `dump` used against `redis-server`.

    use mlua::Lua;

    /// Renders values deterministically (sorted table entries, `%.17g` numbers, escaped bytes).
    pub(crate) const DUMP_PRELUDE: &str = r#"
local function esc(s)
  return (string.gsub(s, '[%c\128-\255\\"]', function(c) return string.format('\\%03d', string.byte(c)) end))
end
local function dumpv(v, depth)
  local t = type(v)
  if t == 'string' then return '"' .. esc(v) .. '"'
  elseif t == 'number' then return string.format('%.17g', v)
  elseif t == 'table' then
    if depth > 40 then return '{...}' end
    local parts = {}
    for k, x in pairs(v) do parts[#parts + 1] = '[' .. dumpv(k, depth + 1) .. ']=' .. dumpv(x, depth + 1) end
    table.sort(parts)
    return '{' .. table.concat(parts, ',') .. '}'
  elseif t == 'userdata' then
    if v == cjson.null then return 'null' end
    return 'userdata'
  else return tostring(v) end
end
local function dumpall(...)
  local n = select('#', ...)
  local parts = {}
  for i = 1, n do parts[i] = dumpv((select(i, ...)), 0) end
  return n .. ':' .. table.concat(parts, ' ')
end
"#;

    /// A VM with the libraries installed, as a script would find it.
    pub(crate) fn vm() -> Lua {
        let lua = Lua::new();
        super::install(&lua).expect("install libraries");
        lua
    }

    /// The dump of `pcall(function() <snippet> end)`, named `user_script` like Redis's chunks so
    /// that error positions read the same.
    pub(crate) fn run(snippet: &str) -> String {
        let lua = vm();
        let prelude = DUMP_PRELUDE.trim_matches('\n');
        let script = format!("{prelude}\nreturn dumpall(pcall(function() {snippet} end))");
        match lua.load(&script).set_name("@user_script").eval::<String>() {
            Ok(s) => s,
            Err(e) => format!("LOAD ERROR: {e}"),
        }
    }

    /// Asserts each `(snippet, dump)` pair; the dumps were taken from Redis 7.0.15.
    pub(crate) fn check_cases(cases: &[(&str, &str)]) {
        let mut failures = Vec::new();
        for (snippet, expected) in cases {
            let got = run(snippet);
            if got != *expected {
                failures.push(format!(
                    "snippet: {snippet}\n  redis: {expected}\n  ours:  {got}"
                ));
            }
        }
        assert!(
            failures.is_empty(),
            "{} mismatches:\n{}",
            failures.len(),
            failures.join("\n")
        );
    }
}

#[cfg(test)]
mod tests {
    use super::testing::{check_cases, vm};
    use super::{c_double_to_i32, c_double_to_i64, c_double_to_u64, TWO_63};

    #[test]
    fn c_casts_follow_x86_64() {
        assert_eq!(c_double_to_i64(-1.9), -1);
        assert_eq!(c_double_to_i64(f64::NAN), i64::MIN);
        assert_eq!(c_double_to_i64(1e19), i64::MIN);
        assert_eq!(c_double_to_i64(-TWO_63), i64::MIN);
        assert_eq!(c_double_to_i32(2_147_483_647.9), i32::MAX);
        assert_eq!(c_double_to_i32(2_147_483_648.0), i32::MIN);
        assert_eq!(c_double_to_i32(-2_147_483_648.9), i32::MIN);
        assert_eq!(c_double_to_u64(1.5), 1);
        assert_eq!(c_double_to_u64(TWO_63), 1 << 63);
        assert_eq!(c_double_to_u64(2.0 * TWO_63), 0);
        assert_eq!(c_double_to_u64(-1.0), u64::MAX);
        assert_eq!(c_double_to_u64(f64::NAN), 1 << 63);
    }

    #[test]
    fn install_registers_tables_of_functions() {
        let lua = vm();
        let kinds: String = lua
            .load(
                "local out = {} for _, lib in ipairs({'cjson', 'cmsgpack', 'bit', 'struct'}) do \
                 local n = 0 for _, v in pairs(_G[lib]) do if type(v) == 'function' then n = n + 1 end end \
                 out[#out + 1] = lib .. '=' .. n end return table.concat(out, ' ')",
            )
            .eval()
            .expect("script runs");
        assert_eq!(kinds, "cjson=10 cmsgpack=4 bit=12 struct=3");
    }

    #[test]
    fn library_errors_reach_rust_as_plain_messages() {
        let lua = vm();
        let err = lua
            .load("return cjson.decode('[')")
            .exec()
            .expect_err("decode fails");
        let text = err.to_string();
        assert!(
            text.contains("Expected value but found T_END at character 2"),
            "{text}"
        );
    }

    // Cases recorded from Redis 7.0.15: each snippet ran through EVAL as
    // `dumpall(pcall(function() <snippet> end))`; the second string is Redis's answer.
    // BEGIN REDIS CASES
    #[test]
    fn errors_are_strings_located_at_the_calling_line() {
        check_cases(&[
            (
                r#"local ok, e = pcall(cjson.decode, "x") return type(e), e"#,
                r#"3:true "string" "Expected value but found invalid token at character 1""#,
            ),
            (
                r#"local ok, e = pcall(function() local v = cjson.decode("x") return v end) return type(e), e"#,
                r#"3:true "string" "user_script:25: Expected value but found invalid token at character 1""#,
            ),
            (
                r#"return xpcall(function() return struct.pack("z") end, function(m) return "handled: " .. m end)"#,
                r#"3:true false "handled: user_script:25: bad argument #1 to 'pack' (invalid format option 'z')""#,
            ),
            (
                r#"return select(2, pcall(function() cmsgpack.unpack("\193") end))"#,
                r#"2:true "user_script:25: Bad data format in input.""#,
            ),
            (
                r#"return coroutine.resume(coroutine.create(cjson.decode), "[1")"#,
                r#"2:false "user_script:25: bad argument #1 to 'create' (Lua function expected)""#,
            ),
            (
                r#"local co = coroutine.wrap(function() return cjson.encode({1, {2}}) end) return co()"#,
                r#"2:true "[1,[2]]""#,
            ),
            (
                r#"return coroutine.resume(coroutine.create(function() return bit.tobit(nil) end))"#,
                r#"3:true false "user_script:25: bad argument #1 to 'tobit' (number expected, got nil)""#,
            ),
            (
                r#"return pcall(cmsgpack.unpack, "\129\192\1")"#,
                r#"3:true false "table index is nil""#,
            ),
        ]);
    }

    #[test]
    fn argument_errors_name_the_function_as_called() {
        check_cases(&[
            (
                r#"local f = cjson.encode return f()"#,
                r#"2:false "user_script:25: bad argument #1 to 'f' (expected 1 argument)""#,
            ),
            (
                r#"local m = {f = bit.tobit} return m.f()"#,
                r#"2:false "user_script:25: bad argument #1 to 'f' (number expected, got no value)""#,
            ),
            (
                r#"return cjson:decode("1")"#,
                r#"2:false "user_script:25: calling 'decode' on bad self (expected 1 argument)""#,
            ),
            (
                r#"return bit:tobit()"#,
                r#"2:false "user_script:25: calling 'tobit' on bad self (number expected, got table)""#,
            ),
            (
                r#"return pcall(bit.tobit)"#,
                r#"3:true false "bad argument #1 to '?' (number expected, got no value)""#,
            ),
            (
                r#"return struct.pack("b", {})"#,
                r#"2:false "user_script:25: bad argument #2 to 'pack' (number expected, got table)""#,
            ),
            (
                r#"local t = {x = {y = cmsgpack.unpack}} return t.x.y()"#,
                r#"2:false "user_script:25: bad argument #1 to 'y' (string expected, got no value)""#,
            ),
        ]);
    }

    #[test]
    fn many_arguments_are_handled_in_bulk() {
        check_cases(&[
            (
                r#"local t = {} for i = 1, 50 do t[i] = 0xff end t[40] = "x" return bit.band(unpack(t))"#,
                r#"2:false "user_script:25: bad argument #40 to 'band' (number expected, got string)""#,
            ),
            (
                r#"local t = {} for i = 1, 50 do t[i] = 2 ^ (i % 32) end return bit.bor(unpack(t))"#,
                r#"2:true -1"#,
            ),
            (
                r#"local t = {} for i = 1, 20 do t[i] = i end return struct.pack(string.rep("b", 20), unpack(t))"#,
                r#"2:true "\001\002\003\004\005\006\007\008\009\010\011\012\013\014\015\016\017\018\019\020""#,
            ),
            (
                r#"local t = {} for i = 1, 20 do t[i] = i end t[18] = {} return struct.pack(string.rep("b", 20), unpack(t))"#,
                r#"2:false "user_script:25: bad argument #19 to 'pack' (number expected, got table)""#,
            ),
            (
                r##"local t = {} for i = 1, 300 do t[i] = i end return #cmsgpack.pack(unpack(t)), select("#", cmsgpack.unpack(cmsgpack.pack(unpack(t))))"##,
                r#"3:true 518 300"#,
            ),
            (
                r#"local t = {} for i = 1, 17 do t[i] = i end return cjson.encode(unpack(t))"#,
                r#"2:false "user_script:25: bad argument #1 to 'encode' (expected 1 argument)""#,
            ),
            (
                r##"local t = {} for i = 1, 17 do t[i] = nil end return select("#", cmsgpack.unpack(cmsgpack.pack(unpack(t, 1, 17))))"##,
                r#"2:true 17"#,
            ),
            (
                r#"return cmsgpack.unpack(cmsgpack.pack(nil, nil, nil, nil, nil, nil, nil, nil, nil, nil, nil, nil, nil, nil, nil, nil, nil, 1))"#,
                r#"19:true nil nil nil nil nil nil nil nil nil nil nil nil nil nil nil nil nil 1"#,
            ),
        ]);
    }

    // END REDIS CASES
}
