//! Lua scripting (EVAL, EVALSHA, SCRIPT): one Lua 5.1 VM, sandboxed as Redis 7.0's, and
//! the state other clients see while a script runs (BUSY, SCRIPT KILL).
//!
//! The VM knows nothing of the keyspace. A script reaches the server only through
//! [`Caller`]: `redis.call` hands it an argv and gets the command's RESP reply back, which
//! [`convert`] turns into Lua values (and the script's result into a reply) by Redis's rules.
//! The command layer (`commands::scripting`) implements `Caller` under the script's locks,
//! so all of a script's effects form one WAL entry and replay never runs Lua.
//!
//! Sandbox: only the base, table, string and math libraries plus Redis's `cjson`, `cmsgpack`,
//! `bit` and `struct`; no `os`, `io`, `debug`, `require`, `loadfile`, `dofile` or `print`;
//! `loadstring` refuses bytecode; globals are read-only and reading an unknown one is an
//! error, so scripts cannot leak state into each other.

mod convert;
pub mod functions;
pub mod libs;

use bytes::{Bytes, BytesMut};
use mlua::{Function, HookTriggers, Lua, LuaOptions, MultiValue, StdLib, Table, Value, VmState};
use parking_lot::Mutex;
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Instant;
use tokio::sync::Notify;

/// What a script may ask of the server.
pub trait Caller {
    /// Runs `argv` as `redis.call` does and returns its RESP reply (RESP3 if `resp3`); an
    /// error reply (`-...`) for anything refused.
    fn call(&mut self, argv: Vec<Bytes>, resp3: bool) -> BytesMut;
}

/// Flags a script declares in its `#!lua flags=...` shebang.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Flags {
    /// The script has a shebang (its flags, not the legacy defaults, apply).
    pub shebang: bool,
    pub no_writes: bool,
    pub allow_oom: bool,
    pub allow_stale: bool,
    pub no_cluster: bool,
    pub allow_cross_slot_keys: bool,
}

/// A cached script: its body and the flags its shebang declares.
pub struct Script {
    pub body: Bytes,
    pub flags: Flags,
}

/// The lower-case hex SHA-1 of `body` (a script's name).
pub fn sha1_hex(body: &[u8]) -> String {
    use sha1::Digest;
    let digest = sha1::Sha1::digest(body);
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

/// Parses a `#!lua ...` first line: the flags, and the body to compile (the shebang line
/// replaced by an empty one, so line numbers stay). `Err` is Redis's error line.
pub fn parse_shebang(body: &[u8]) -> Result<(Flags, Vec<u8>), String> {
    if !body.starts_with(b"#!") {
        return Ok((Flags::default(), body.to_vec()));
    }
    let Some(eol) = body.iter().position(|&b| b == b'\n') else {
        return Err("ERR Invalid script shebang".into());
    };
    let line = String::from_utf8_lossy(body[..eol].strip_suffix(b"\r").unwrap_or(&body[..eol]));
    let mut words = line.split(' ').filter(|w| !w.is_empty());
    let engine = words.next().unwrap_or_default();
    if engine != "#!lua" {
        return Err(format!("ERR Unexpected engine in script shebang: {engine}"));
    }
    let mut flags = Flags {
        shebang: true,
        ..Flags::default()
    };
    for word in words {
        let Some(list) = word.strip_prefix("flags=") else {
            return Err(format!("ERR Unknown lua shebang option: {word}"));
        };
        for flag in list.split(',').filter(|f| !f.is_empty()) {
            match flag {
                "no-writes" => flags.no_writes = true,
                "allow-oom" => flags.allow_oom = true,
                "allow-stale" => flags.allow_stale = true,
                "no-cluster" => flags.no_cluster = true,
                "allow-cross-slot-keys" => flags.allow_cross_slot_keys = true,
                other => return Err(format!("ERR Unexpected flag in script shebang: {other}")),
            }
        }
    }
    let mut code = body[eol..].to_vec();
    code.insert(0, b' ');
    Ok((flags, code))
}

/// The running script, as other clients and the VM's hook see it.
#[derive(Default)]
pub struct RunState {
    running: AtomicBool,
    /// Past `busy-reply-threshold`: others get -BUSY, SCRIPT KILL may act.
    busy: AtomicBool,
    kill: AtomicBool,
    /// Hook fires in this run (see `execute`).
    hook_fires: AtomicU64,
    /// The script has written: it cannot be killed.
    wrote: AtomicBool,
    started: Mutex<Option<Instant>>,
    threshold_ms: AtomicU64,
    /// The running code is a function (FCALL): its name and the command that called it.
    function: Mutex<Option<(String, Vec<Bytes>)>>,
    is_function: AtomicBool,
    /// Woken when a script ends or turns busy.
    pub changed: Notify,
}

/// Redis's reply to other clients while a script is busy.
pub const BUSY: &str =
    "BUSY Redis is busy running a script. You can only call SCRIPT KILL or SHUTDOWN NOSAVE.";
/// The same while a function (FCALL) is busy.
pub const BUSY_FUNCTION: &str =
    "BUSY Redis is busy running a script. You can only call FUNCTION KILL or SHUTDOWN NOSAVE.";
pub const NOTBUSY: &str = "NOTBUSY No scripts in execution right now.";
pub const UNKILLABLE: &str = "UNKILLABLE Sorry the script already executed write commands against the dataset. You can either wait the script termination or kill the server in a hard way using the SHUTDOWN NOSAVE command.";
const KILLED: &str = "ERR Script killed by user with SCRIPT KILL...";

impl RunState {
    pub fn running(&self) -> bool {
        self.running.load(Ordering::Acquire)
    }

    pub fn busy(&self) -> bool {
        self.busy.load(Ordering::Acquire)
    }

    /// The command with this argv may run while a script is busy (Redis's `allow_busy`).
    pub fn allowed_while_busy(argv: &[Bytes]) -> bool {
        let name = argv
            .first()
            .map(|a| a.to_ascii_lowercase())
            .unwrap_or_default();
        let sub = argv
            .get(1)
            .map(|a| a.to_ascii_lowercase())
            .unwrap_or_default();
        match &name[..] {
            b"auth" | b"hello" | b"multi" | b"discard" | b"watch" | b"unwatch" | b"quit"
            | b"reset" | b"shutdown" => true,
            b"script" => sub == b"kill",
            b"function" => sub == b"kill" || sub == b"stats",
            _ => false,
        }
    }

    /// The -BUSY line for what runs: a script's or a function's.
    pub fn busy_error(&self) -> &'static str {
        if self.is_function.load(Ordering::Acquire) {
            BUSY_FUNCTION
        } else {
            BUSY
        }
    }

    /// SCRIPT KILL (`eval`) or FUNCTION KILL: `Err` is the error line to answer. Each stops
    /// only its own kind; neither stops code that has written.
    pub fn kill(&self, eval: bool) -> Result<(), &'static str> {
        if !self.running() {
            return Err(NOTBUSY);
        }
        if self.wrote.load(Ordering::Acquire) {
            return Err(UNKILLABLE);
        }
        if eval == self.is_function.load(Ordering::Acquire) {
            return Err(self.busy_error());
        }
        self.kill.store(true, Ordering::Release);
        Ok(())
    }

    /// The running function's name, calling command and milliseconds so far (FUNCTION
    /// STATS); `None` when no function runs.
    pub fn running_function(&self) -> Option<(String, Vec<Bytes>, u64)> {
        let f = self.function.lock().clone()?;
        let ms = self
            .started
            .lock()
            .map_or(0, |s| s.elapsed().as_millis() as u64);
        Some((f.0, f.1, ms))
    }

    /// An EVAL script (not a function) is running.
    pub fn running_script(&self) -> bool {
        self.running() && !self.is_function.load(Ordering::Acquire)
    }

    /// The script wrote (called by the caller after a write command).
    pub fn note_write(&self) {
        self.wrote.store(true, Ordering::Release);
    }

    /// Waits while a script runs (other clients' commands). `Some` is the BUSY error to
    /// answer instead of running `argv`.
    pub async fn wait_turn(&self, argv: &[Bytes]) -> Option<&'static str> {
        loop {
            let changed = self.changed.notified();
            tokio::pin!(changed);
            changed.as_mut().enable();
            if !self.running() {
                return None;
            }
            if self.busy() {
                return (!Self::allowed_while_busy(argv)).then(|| self.busy_error());
            }
            // Wake at the threshold even if no hook fires (a script blocked in a lock).
            let left = {
                let started = *self.started.lock();
                let limit =
                    std::time::Duration::from_millis(self.threshold_ms.load(Ordering::Relaxed));
                started.map_or(limit, |s| limit.saturating_sub(s.elapsed()))
            };
            tokio::select! {
                _ = changed => {}
                _ = tokio::time::sleep(left.max(std::time::Duration::from_millis(1))) => {
                    self.check_busy();
                }
            }
        }
    }

    fn check_busy(&self) {
        if self.busy() || !self.running() {
            return;
        }
        let elapsed = self
            .started
            .lock()
            .map_or(0, |s| s.elapsed().as_millis() as u64);
        if elapsed >= self.threshold_ms.load(Ordering::Relaxed) {
            self.busy.store(true, Ordering::Release);
            self.changed.notify_waiters();
        }
    }

    fn begin(&self, threshold_ms: u64, function: Option<(String, Vec<Bytes>)>) {
        self.threshold_ms.store(threshold_ms, Ordering::Relaxed);
        self.is_function
            .store(function.is_some(), Ordering::Relaxed);
        *self.function.lock() = function;
        *self.started.lock() = Some(Instant::now());
        self.kill.store(false, Ordering::Relaxed);
        self.hook_fires.store(0, Ordering::Relaxed);
        self.wrote.store(false, Ordering::Relaxed);
        self.busy.store(false, Ordering::Relaxed);
        self.running.store(true, Ordering::Release);
    }

    fn end(&self) {
        self.running.store(false, Ordering::Release);
        self.busy.store(false, Ordering::Release);
        *self.started.lock() = None;
        *self.function.lock() = None;
        self.is_function.store(false, Ordering::Release);
        self.changed.notify_waiters();
    }
}

/// The scripting engine of one server.
pub struct Scripting {
    vm: Mutex<Option<Vm>>,
    cache: Mutex<HashMap<String, Arc<Script>>>,
    /// Function libraries, in a VM of their own (SCRIPT FLUSH never touches them).
    pub functions: Mutex<functions::Engine>,
    function_counts: Arc<[AtomicU64; 2]>,
    pub run: Arc<RunState>,
}

struct Vm {
    lua: Lua,
    /// Private to the bootstrap code: `call` (through [`CALLER`]), `resp3`.
    bridge: Table,
    /// The xpcall handler that turns any error into `{err=, line=}`.
    handler: Function,
    xpcall: Function,
    /// Compiled scripts by SHA-1.
    compiled: HashMap<String, Function>,
    /// The busy/kill hook is installed (once per VM; a function load replaces it for a while).
    hooked: bool,
}

thread_local! {
    /// The caller of the script running on this thread: set by `run_in_vm` for exactly the
    /// duration of one run, read by the VM's one `redis.call` bridge function.
    static CALLER: std::cell::Cell<Option<std::ptr::NonNull<dyn Caller + 'static>>> =
        const { std::cell::Cell::new(None) };
}

impl Default for Scripting {
    fn default() -> Self {
        let engine = functions::Engine::default();
        Scripting {
            vm: Mutex::new(None),
            cache: Mutex::new(HashMap::new()),
            function_counts: engine.counts.clone(),
            functions: Mutex::new(engine),
            run: Arc::new(RunState::default()),
        }
    }
}

/// The bootstrap: Redis's `redis` table over the private bridge, the pcall that hands a
/// caught error table over as its message, the bytecode-refusing loadstring, and the
/// read-only globals. Runs once per VM with `bridge` as its argument.
const BOOTSTRAP: &str = r#"
local bridge = ...
local error, type, select, tostring, unpack, rawequal = error, type, select, tostring, unpack, rawequal
local raw_pcall, raw_loadstring, raw_rawset = pcall, loadstring, rawset
local redis = {}
-- redis.call is a C closure over this (see `raise_failed`), so a failed call raises from a C
-- frame and the script's own frame (and line) stays on the stack even after a tail call.
bridge.dispatch = function(...) return bridge.call(...) end
redis.pcall = function(...)
  return (bridge.call(...))
end
local BAD_ARGS = 'ERR wrong number or type of arguments'
redis.error_reply = function(msg)
  if type(msg) ~= 'string' then return {err = BAD_ARGS} end
  if msg:sub(1, 1) ~= '-' then msg = '-' .. msg end
  local space = msg:find(' ', 1, true)
  local code, text
  if space then code, text = msg:sub(2, space - 1), msg:sub(space + 1)
  else code, text = 'ERR', msg:sub(2) end
  text = text:gsub('[\r\n]+$', '')
  return {err = code .. ' ' .. text}
end
redis.status_reply = function(msg)
  if type(msg) ~= 'string' then return {err = BAD_ARGS} end
  return {ok = msg}
end
-- The functions below return (result, failed) and are wrapped in C closures that raise a
-- failure (see `raise_failed`), as Redis's C functions raise theirs.
local function fail(msg) return {err = msg}, true end
redis.sha1hex = function(...)
  if select('#', ...) ~= 1 then return fail('ERR wrong number of arguments') end
  return bridge.sha1hex(tostring((...))), false
end
redis.LOG_DEBUG, redis.LOG_VERBOSE, redis.LOG_NOTICE, redis.LOG_WARNING = 0, 1, 2, 3
redis.log = function(...)
  if select('#', ...) < 2 then return fail('ERR redis.log() requires two arguments or more.') end
  local level = ...
  if type(level) ~= 'number' or level < 0 or level > 3 then return fail('ERR Invalid debug level.') end
  bridge.log(...)
  return nil, false
end
redis.REPL_NONE, redis.REPL_AOF, redis.REPL_SLAVE, redis.REPL_REPLICA, redis.REPL_ALL = 0, 1, 2, 2, 3
redis.set_repl = function(...)
  if select('#', ...) ~= 1 then return fail('ERR redis.set_repl() requires two arguments.') end
  local f = ...
  if type(f) ~= 'number' or f < 0 or f > 3 then
    return fail('ERR Invalid replication flags. Use REPL_AOF, REPL_REPLICA, REPL_ALL or REPL_NONE.')
  end
  return nil, false
end
redis.replicate_commands = function() return true end
redis.breakpoint = function() return false end
redis.debug = function() end
redis.setresp = function(...)
  if select('#', ...) ~= 1 then return fail('ERR redis.setresp() requires one argument.') end
  local v = ...
  if v ~= 2 and v ~= 3 then return fail('ERR RESP version must be 2 or 3.') end
  bridge.resp3 = (v == 3)
  return nil, false
end
redis.acl_check_cmd = function(...)
  if select('#', ...) < 1 then return fail('ERR Please specify at least one argument for this redis lib call') end
  return true, false
end
redis.REDIS_VERSION = bridge.version
redis.REDIS_VERSION_NUM = bridge.version_num

local function pack(...) return {n = select('#', ...), ...} end
pcall = function(...)
  local r = pack(raw_pcall(...))
  if not r[1] and type(r[2]) == 'table' and r[2].err ~= nil then return false, r[2].err end
  return unpack(r, 1, r.n)
end
loadstring = function(s, name)
  if type(s) == 'string' and s:byte(1) == 27 then
    -- Compiled as text, as Redis's patched Lua does: bytecode is never loaded.
    return nil, '[string "' .. s:match('^[^%z\r\n]*') .. '"]:1: unexpected symbol near \'<\\027>\''
  end
  return raw_loadstring(s, name)
end

-- The xpcall message handler: whatever was raised becomes {err=<reply line>, line=<n>}, n
-- the line of the innermost frame of the script (or function library).
local getinfo, tostring_ = debug.getinfo, tostring
bridge.handler = function(e)
  local line
  for level = 2, 64 do
    local i = getinfo(level, 'Sl')
    if not i then break end
    if i.source == '@user_script' or i.source == '@user_function' then
      line = i.currentline
      break
    end
  end
  local t
  if type(e) == 'table' and type(e.err) == 'string' then t = e
  elseif type(e) == 'userdata' then t = {err = tostring_(e)}
  else t = {err = 'ERR ' .. tostring_(e)} end
  t.line = line
  return t
end

local G = _G
-- Library tables are read-only too: each global library becomes an empty proxy that reads
-- through to it, so no script can change what the next one finds.
local readonly = {}
local function protect(lib)
  local proxy = setmetatable({}, {
    __index = lib,
    __newindex = function() error('Attempt to modify a readonly table', 2) end,
    __metatable = false,
  })
  readonly[proxy] = true
  return proxy
end
rawset = function(t, k, v)
  if rawequal(t, G) or readonly[t] then error('Attempt to modify a readonly table', 0) end
  return raw_rawset(t, k, v)
end
bridge.redis = redis
raw_rawset(G, 'redis', protect(redis))
for _, name in ipairs({'string', 'table', 'math', 'coroutine', 'cjson', 'cmsgpack', 'bit', 'struct'}) do
  if type(G[name]) == 'table' then raw_rawset(G, name, protect(G[name])) end
end
for _, name in ipairs({'dofile', 'loadfile', 'print', 'module', 'require', 'newproxy',
                       'getfenv', 'setfenv', 'os', 'io', 'debug', 'package'}) do
  raw_rawset(G, name, nil)
end
local raw_setmetatable = setmetatable
local gmeta = {
  __index = function(_, k)
    error("Script attempted to access nonexistent global variable '" .. tostring(k) .. "'", 2)
  end,
  __newindex = function() error('Attempt to modify a readonly table', 2) end,
}
gmeta.__metatable = protect(gmeta)
setmetatable = function(t, m)
  if rawequal(t, G) or readonly[t] then error('Attempt to modify a readonly table', 0) end
  return raw_setmetatable(t, m)
end
raw_setmetatable(G, gmeta)
"#;

impl Vm {
    fn new(version: &str) -> mlua::Result<Vm> {
        // SAFETY: the debug library is unsafe only in a script's hands; the bootstrap keeps
        // `debug.getinfo` for its error handler and removes `debug` from the globals.
        let lua = unsafe {
            Lua::unsafe_new_with(
                StdLib::TABLE | StdLib::STRING | StdLib::MATH | StdLib::DEBUG,
                LuaOptions::default(),
            )
        };
        libs::install(&lua)?;
        let bridge = lua.create_table()?;
        bridge.set("version", version)?;
        let num = version
            .split('.')
            .map(|p| p.parse::<i64>().unwrap_or(0))
            .chain(std::iter::repeat(0))
            .take(3)
            .fold(0, |acc, p| acc * 256 + p);
        bridge.set("version_num", num)?;
        bridge.set("resp3", false)?;
        bridge.set(
            "sha1hex",
            lua.create_function(|_, s: mlua::LuaString| Ok(sha1_hex(&s.as_bytes())))?,
        )?;
        bridge.set(
            "log",
            lua.create_function(|_, args: MultiValue| {
                let mut it = args.into_iter();
                let level = it.next().and_then(|v| v.as_integer()).unwrap_or(0);
                let text: Vec<String> = it
                    .map(|v| match v {
                        Value::String(s) => String::from_utf8_lossy(&s.as_bytes()).into_owned(),
                        v => v.to_string().unwrap_or_default(),
                    })
                    .collect();
                let text = text.join(" ");
                match level {
                    3 => tracing::warn!(target: "lua", "{text}"),
                    2 => tracing::info!(target: "lua", "{text}"),
                    _ => tracing::debug!(target: "lua", "{text}"),
                }
                Ok(())
            })?,
        )?;
        lua.load(BOOTSTRAP)
            .set_name("=vaylix")
            .call::<()>(bridge.clone())?;
        let handler: Function = bridge.raw_get("handler")?;
        let dispatch: Function = bridge.raw_get("dispatch")?;
        let redis: Table = bridge.raw_get("redis")?;
        redis.raw_set("call", raising(&lua, dispatch)?)?;
        for name in ["sha1hex", "log", "set_repl", "setresp", "acl_check_cmd"] {
            let f: Function = redis.raw_get(name)?;
            redis.raw_set(name, raising(&lua, f)?)?;
        }
        let b2 = bridge.clone();
        let call = lua.create_function(move |lua, args: MultiValue| {
            let resp3 = b2.raw_get::<bool>("resp3").unwrap_or(false);
            let argv = match convert::argv_of(args) {
                Ok(a) => a,
                Err(msg) => return convert::error_value(lua, msg),
            };
            let Some(mut caller) = CALLER.with(|c| c.get()) else {
                return convert::error_value(lua, "ERR redis.call outside a running script");
            };
            // SAFETY: `CALLER` holds a pointer only while `run_in_vm` runs on this thread, and
            // that frame owns the `&mut dyn Caller` it points to; Lua calls back synchronously
            // on the same thread, and no script runs inside a `redis.call`.
            let reply = unsafe { caller.as_mut() }.call(argv, resp3);
            convert::lua_of_reply(lua, &reply)
        })?;
        bridge.raw_set("call", call)?;
        let xpcall: Function = lua.globals().raw_get("xpcall")?;
        Ok(Vm {
            lua,
            bridge,
            handler,
            xpcall,
            compiled: HashMap::new(),
            hooked: false,
        })
    }

    /// Compiles `code` as script `sha` (once).
    fn compile(&mut self, sha: &str, code: &[u8]) -> Result<Function, String> {
        if let Some(f) = self.compiled.get(sha) {
            return Ok(f.clone());
        }
        let f = self
            .lua
            .load(code)
            .set_name("@user_script")
            .set_mode(mlua::chunk::ChunkMode::Text)
            .into_function()
            .map_err(|e| {
                format!(
                    "ERR Error compiling script (new function): {}",
                    lua_message(&e)
                )
            })?;
        self.compiled.insert(sha.to_string(), f.clone());
        Ok(f)
    }
}

/// `f` (which returns a result and whether it failed) as a C closure that raises failures.
fn raising(lua: &Lua, f: Function) -> mlua::Result<Function> {
    // SAFETY: `exec_raw` runs the closure in protected mode with `f` pushed;
    // `lua_pushcclosure` pops it as the upvalue and leaves the new function as the result.
    unsafe {
        lua.exec_raw(f, |state| {
            mlua::ffi::lua_pushcclosure(state, raise_failed, 1)
        })
    }
}

/// `redis.call`: calls its upvalue (which returns the reply and whether it failed) and raises
/// a failed reply's `{err=...}` table as the error, from this C frame.
unsafe extern "C-unwind" fn raise_failed(state: *mut mlua::ffi::lua_State) -> std::ffi::c_int {
    use mlua::ffi;
    // SAFETY: standard Lua C API use on this call's stack; the frame holds no Rust value with
    // a destructor, so a Lua error may unwind (longjmp) through it.
    unsafe {
        let nargs = ffi::lua_gettop(state);
        ffi::lua_pushvalue(state, ffi::lua_upvalueindex(1));
        ffi::lua_insert(state, 1);
        ffi::lua_call(state, nargs, 2);
        let failed = ffi::lua_toboolean(state, -1) != 0;
        ffi::lua_settop(state, -2);
        if failed {
            ffi::lua_error(state);
        }
        1
    }
}

/// The text of a Lua error, without mlua's decorations.
fn lua_message(e: &mlua::Error) -> String {
    match e {
        mlua::Error::SyntaxError { message, .. } => message.clone(),
        mlua::Error::RuntimeError(m) => m.clone(),
        mlua::Error::CallbackError { cause, .. } => lua_message(cause),
        e => e.to_string(),
    }
    .replace(['\r', '\n'], " ")
}

/// What the script run needs from its caller.
pub struct Run<'a> {
    pub sha: &'a str,
    pub code: &'a [u8],
    pub keys: &'a [Bytes],
    pub args: &'a [Bytes],
    pub threshold_ms: u64,
    pub version: &'a str,
}

impl Scripting {
    /// SCRIPT LOAD and EVAL's caching: compiles `body` and keeps it under its SHA-1.
    pub fn load(&self, body: Bytes, version: &str) -> Result<(String, Arc<Script>), String> {
        let sha = sha1_hex(&body);
        if let Some(s) = self.cache.lock().get(&sha) {
            return Ok((sha, s.clone()));
        }
        let (flags, code) = parse_shebang(&body)?;
        {
            let mut vm = self.vm.lock();
            let vm = vm_of(&mut vm, version)?;
            vm.compile(&sha, &code)?;
        }
        let script = Arc::new(Script { body, flags });
        self.cache.lock().insert(sha.clone(), script.clone());
        Ok((sha, script))
    }

    pub fn get(&self, sha: &str) -> Option<Arc<Script>> {
        self.cache.lock().get(&sha.to_ascii_lowercase()).cloned()
    }

    pub fn exists(&self, sha: &[u8]) -> bool {
        let sha = String::from_utf8_lossy(sha).to_ascii_lowercase();
        self.cache.lock().contains_key(&sha)
    }

    /// SCRIPT FLUSH: forgets every script and starts a fresh VM.
    pub fn flush(&self) {
        self.cache.lock().clear();
        *self.vm.lock() = None;
    }

    /// Memory for INFO: (EVAL VM, functions VM, library code bytes). The VM locks are only
    /// tried: INFO called from a script finds its own VM locked and reports it as 0.
    pub fn memory(&self) -> (usize, usize, usize) {
        let eval = self
            .vm
            .try_lock()
            .map_or(0, |g| g.as_ref().map_or(0, |v| v.lua.used_memory()));
        let (vm, code) = self.functions.try_lock().map_or((0, 0), |e| e.memory());
        (eval, vm, code)
    }

    pub fn cached(&self) -> (usize, usize) {
        let c = self.cache.lock();
        (c.len(), c.values().map(|s| s.body.len()).sum())
    }

    /// Runs a cached script: KEYS/ARGV set, `redis.call` through `caller`, the result
    /// written to `out` in `resp3` or RESP2. Blocks until the script ends.
    pub fn eval(&self, run: Run<'_>, caller: &mut dyn Caller, out: &mut crate::resp::ReplyWriter) {
        let mut guard = self.vm.lock();
        let vm = match vm_of(&mut guard, run.version) {
            Ok(vm) => vm,
            Err(e) => return out.error(&e),
        };
        let f = match vm.compile(run.sha, run.code) {
            Ok(f) => f,
            Err(e) => return out.error(&e),
        };
        let job = Job {
            f,
            keys: run.keys,
            args: run.args,
            as_params: false,
            label: run.sha,
            source: "@user_script",
            threshold_ms: run.threshold_ms,
            function: None,
        };
        execute(&self.run, vm, job, caller, out);
    }
}

/// What an FCALL gives its function.
pub struct FunctionRun<'a> {
    pub keys: &'a [Bytes],
    pub args: &'a [Bytes],
    pub threshold_ms: u64,
    pub name: &'a str,
    /// The calling command (FUNCTION STATS shows it).
    pub argv: &'a [Bytes],
}

impl Scripting {
    /// (libraries, functions) loaded.
    pub fn function_counts(&self) -> (u64, u64) {
        (
            self.function_counts[0].load(Ordering::Relaxed),
            self.function_counts[1].load(Ordering::Relaxed),
        )
    }

    /// Runs function `index` of `lib` (found in `engine`, whose lock the caller holds for the
    /// whole run). Blocks until it ends.
    pub fn fcall(
        &self,
        engine: &mut functions::Engine,
        lib: &functions::Library,
        index: usize,
        run: FunctionRun<'_>,
        caller: &mut dyn Caller,
        out: &mut crate::resp::ReplyWriter,
    ) {
        let Some((vm, f)) = engine.callable(lib, index) else {
            return out.error("ERR Function not found");
        };
        let job = Job {
            f,
            keys: run.keys,
            args: run.args,
            as_params: true,
            label: run.name,
            source: "@user_function",
            threshold_ms: run.threshold_ms,
            function: Some((run.name.to_string(), run.argv.to_vec())),
        };
        execute(&self.run, vm, job, caller, out);
    }
}

/// One run of compiled code: what it is given and how its errors name it.
struct Job<'a> {
    f: Function,
    keys: &'a [Bytes],
    args: &'a [Bytes],
    /// Keys and args as the function's two parameters (FCALL), or as KEYS/ARGV (EVAL).
    as_params: bool,
    /// The script's SHA-1 or the function's name, in error lines.
    label: &'a str,
    source: &'a str,
    threshold_ms: u64,
    /// A function's name and calling command, for FUNCTION STATS.
    function: Option<(String, Vec<Bytes>)>,
}

/// Lets the tokio runtime move this worker's other tasks to another thread while the current
/// one keeps running a long script; nothing on a current-thread runtime (tests) or off one.
///
/// `block_in_place` hands the worker's core to a new thread and, when its closure returns,
/// takes it back unless that thread has taken it already; so the closure waits a few
/// milliseconds for the new thread to start. If it still lost the race, the next try (the
/// hook calls this up to three times per run) succeeds; once the core is gone a call is a
/// no-op apart from the wait.
fn hand_off_worker() {
    if let Ok(tokio::runtime::RuntimeFlavor::MultiThread) =
        tokio::runtime::Handle::try_current().map(|h| h.runtime_flavor())
    {
        tokio::task::block_in_place(|| std::thread::sleep(std::time::Duration::from_millis(3)));
    }
}

/// Runs `job` in `vm` with the busy/kill hook; the result or the error line goes to `out`.
fn execute(
    state: &Arc<RunState>,
    vm: &mut Vm,
    job: Job<'_>,
    caller: &mut dyn Caller,
    out: &mut crate::resp::ReplyWriter,
) {
    state.begin(job.threshold_ms, job.function.clone());
    if !vm.hooked {
        let hook_state = state.clone();
        let _ = vm.lua.set_hook(
            HookTriggers::new().every_nth_instruction(100_000),
            move |_, _| {
                // A script still running at its first hook (100k instructions) may run long:
                // it gives this thread's other connections to another worker (tried at the
                // 1st, 10th and 100th hook of the run). Short scripts never pay for that.
                let fires = hook_state.hook_fires.fetch_add(1, Ordering::Relaxed);
                if matches!(fires, 0 | 9 | 99) {
                    hand_off_worker();
                }
                hook_state.check_busy();
                if hook_state.kill.load(Ordering::Acquire) {
                    return Err(mlua::Error::runtime(KILLED));
                }
                Ok(VmState::Continue)
            },
        );
        vm.hooked = true;
    }
    let result = run_in_vm(vm, &job, caller);
    let _ = vm.bridge.raw_set("resp3", false);
    match result {
        Ok((ok, value, resp3)) if ok => convert::write_result(&value, resp3, out),
        Ok((_, value, _)) => {
            let (msg, line) = match &value {
                Value::Table(t) => (
                    t.get::<mlua::LuaString>("err")
                        .map(|s| String::from_utf8_lossy(&s.as_bytes()).into_owned())
                        .unwrap_or_else(|_| "ERR unknown error".into()),
                    t.get::<Option<i64>>("line").ok().flatten(),
                ),
                v => (format!("ERR {}", v.to_string().unwrap_or_default()), None),
            };
            let msg = if state.kill.load(Ordering::Acquire) {
                KILLED.to_string()
            } else {
                msg
            };
            let msg = msg.replace(['\r', '\n'], " ");
            let table = match &value {
                Value::Table(t) if !state.kill.load(Ordering::Acquire) => Some(t),
                _ => None,
            };
            let msg = format!(
                "{msg} script: {}, on {}:{}.",
                job.label,
                job.source,
                line.unwrap_or(0)
            );
            convert::write_error(table, &msg, out);
        }
        Err(e) => out.error(&format!("ERR {}", lua_message(&e))),
    }
    state.end();
    // No explicit collection step: Lua's incremental collector keeps pace with what runs
    // allocate (a step per run cost ~6% of a short script's server time).
}

fn vm_of<'v>(slot: &'v mut Option<Vm>, version: &str) -> Result<&'v mut Vm, String> {
    if slot.is_none() {
        *slot = Some(Vm::new(version).map_err(|e| format!("ERR Lua VM: {e}"))?);
    }
    slot.as_mut()
        .ok_or_else(|| "ERR Lua VM unavailable".to_string())
}

/// Runs the job's function under xpcall with the bridge's `call` bound to `caller` for this
/// run only. Returns (succeeded, value, resp3 at the end).
fn run_in_vm(vm: &Vm, job: &Job<'_>, caller: &mut dyn Caller) -> mlua::Result<(bool, Value, bool)> {
    let lua = &vm.lua;
    let keys = strings_table(lua, job.keys)?;
    let args = strings_table(lua, job.args)?;
    let f = if job.as_params {
        job.f.bind((keys, args))?
    } else {
        let g = lua.globals();
        g.raw_set("KEYS", keys)?;
        g.raw_set("ARGV", args)?;
        job.f.clone()
    };
    // SAFETY (lifetime erasure): the pointer is cleared by `Clear` before this frame returns
    // or unwinds, so the VM's `redis.call` never sees it outlive `caller`.
    let ptr: std::ptr::NonNull<dyn Caller + '_> = std::ptr::NonNull::from(caller);
    let ptr: std::ptr::NonNull<dyn Caller + 'static> = unsafe { std::mem::transmute(ptr) };
    struct Clear;
    impl Drop for Clear {
        fn drop(&mut self) {
            CALLER.with(|c| c.set(None));
        }
    }
    CALLER.with(|c| c.set(Some(ptr)));
    let _clear = Clear;
    let r: MultiValue = vm.xpcall.call((f, vm.handler.clone()))?;
    let mut it = r.into_iter();
    let ok = matches!(it.next(), Some(Value::Boolean(true)));
    let value = it.next().unwrap_or(Value::Nil);
    let resp3 = vm.bridge.raw_get::<bool>("resp3").unwrap_or(false);
    Ok((ok, value, resp3))
}

fn strings_table(lua: &Lua, items: &[Bytes]) -> mlua::Result<Table> {
    let t = lua.create_table_with_capacity(items.len(), 0)?;
    for (i, item) in items.iter().enumerate() {
        t.raw_set(i + 1, lua.create_string(item)?)?;
    }
    Ok(t)
}
