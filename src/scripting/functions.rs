//! Function libraries (FUNCTION LOAD / FCALL): Redis 7.0's functions on a Lua VM of their own.
//!
//! A library is its source code, `#!lua name=<lib>` first. Loading runs the code once in a
//! load-time environment that holds only `redis.register_function`, `redis.log` and the
//! `redis` constants; every function it registers is kept as a Lua closure, so a library's
//! upvalues live from one call to the next until the library is replaced. After the load the
//! same environment reads through to the run-time globals (those of EVAL, without KEYS/ARGV).
//!
//! The durable copy of the libraries is the keyspace's ([`crate::keyspace::Functions`]): the
//! command layer logs every change there, and this engine recompiles the whole set whenever the
//! keyspace holds a version it has not compiled (at start-up, after a backup restore).
//!
//! FUNCTION DUMP's payload is vaylix's own, not Redis's RDB encoding:
//! `"VXFN"`, a format byte (1), a u32 library count, each library's code as u32 length and bytes
//! (little-endian), then the first 8 bytes of the SHA-256 of everything before them.

use super::{lua_message, raising, Flags, Vm};
use bytes::Bytes;
use mlua::{Function, HookTriggers, MultiValue, Table, Value, VmState};
use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Redis's order of function flags in FUNCTION LIST.
pub const FLAG_NAMES: [&str; 5] = [
    "no-writes",
    "allow-oom",
    "allow-stale",
    "no-cluster",
    "allow-cross-slot-keys",
];

pub const BAD_NAME: &str = "ERR Library names can only contain letters, numbers, or underscores(_) and must be at least one character long";
const REGISTERING: &str = "ERR Error registering functions: ";
/// How long the code of a library may run at load (Redis's limit too).
const LOAD_TIMEOUT: Duration = Duration::from_millis(500);

pub struct FunctionDef {
    pub name: String,
    pub description: Option<Bytes>,
    pub flags: Flags,
    callback: Function,
}

impl FunctionDef {
    /// The flag names it was registered with, in Redis's order.
    pub fn flag_names(&self) -> Vec<&'static str> {
        let f = &self.flags;
        let set = [
            f.no_writes,
            f.allow_oom,
            f.allow_stale,
            f.no_cluster,
            f.allow_cross_slot_keys,
        ];
        FLAG_NAMES
            .iter()
            .zip(set)
            .filter(|(_, on)| *on)
            .map(|(n, _)| *n)
            .collect()
    }
}

pub struct Library {
    pub name: String,
    pub code: Bytes,
    /// In registration order.
    pub functions: Vec<FunctionDef>,
}

/// The loaded libraries and the VM their functions live in.
#[derive(Default)]
pub struct Engine {
    vm: Option<Vm>,
    /// The keyspace version the libraries were compiled from (`None`: not yet).
    synced: Option<u64>,
    libraries: BTreeMap<String, Arc<Library>>,
    /// Lower-case function name -> (library, index in its functions).
    index: HashMap<String, (Arc<Library>, usize)>,
    /// (libraries, functions), readable without this engine's lock (FUNCTION STATS while a
    /// function runs).
    pub counts: Arc<[AtomicU64; 2]>,
}

/// A FUNCTION RESTORE policy.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Policy {
    Flush,
    Append,
    Replace,
}

/// The run-time half of the functions VM: the environment each library gets (reads from the
/// load-time API until `activate` switches it to the globals), `register_function`'s checks,
/// and the load-time `redis` table. Runs once per VM, after the EVAL bootstrap, with the
/// bridge as its argument.
const FN_BOOTSTRAP: &str = r#"
local bridge = ...
local G = _G
local rawget, setmetatable, error, tostring, type, pairs, select =
  rawget, setmetatable, error, tostring, type, pairs, select

-- A read-only table that reads `lookup` and raises for a name it lacks, as the globals do.
local function env_over(lookup)
  local env = setmetatable({}, {
    __index = function(_, k)
      local v = rawget(lookup, k)
      if v == nil then
        error("Script attempted to access nonexistent global variable '" .. tostring(k) .. "'", 2)
      end
      return v
    end,
    __newindex = function() error('Attempt to modify a readonly table', 2) end,
    __metatable = false,
  })
  return env, function() lookup = G end
end

local load_redis = {
  log = bridge.redis.log,
  LOG_DEBUG = 0, LOG_VERBOSE = 1, LOG_NOTICE = 2, LOG_WARNING = 3,
  REDIS_VERSION = bridge.version, REDIS_VERSION_NUM = bridge.version_num,
}
bridge.load_redis = load_redis
local load_api = {redis = (env_over(load_redis))}

-- A fresh environment for one library's load: (env, activate).
bridge.library_env = function() return env_over(load_api) end

local KNOWN = {['no-writes'] = true, ['allow-oom'] = true, ['allow-stale'] = true,
               ['no-cluster'] = true, ['allow-cross-slot-keys'] = true}
local function fail(msg) return {err = msg}, true end

-- redis.register_function, positional (name, callback) or named {function_name=, callback=,
-- flags=, description=}. Returns (nil, false) or (error, true); wrapped to raise.
bridge.register_function = function(...)
  local n = select('#', ...)
  local name, callback, flags, description
  if n == 1 then
    local t = ...
    if type(t) ~= 'table' then
      return fail('ERR calling redis.register_function with a single argument is only applicable to Lua table (representing named arguments).')
    end
    for k, v in pairs(t) do
      if k == 'function_name' then
        if type(v) ~= 'string' then return fail('ERR function_name argument given to redis.register_function must be a string') end
        name = v
      elseif k == 'description' then
        if type(v) ~= 'string' then return fail('ERR description argument given to redis.register_function must be a string') end
        description = v
      elseif k == 'callback' then
        if type(v) ~= 'function' then return fail('ERR callback argument given to redis.register_function must be a function') end
        callback = v
      elseif k == 'flags' then
        if type(v) ~= 'table' then return fail('ERR flags argument to redis.register_function must be a table representing function flags') end
        flags = {}
        for _, f in pairs(v) do
          if type(f) ~= 'string' or not KNOWN[f] then return fail('ERR unknown flag given') end
          flags[f] = true
        end
      else
        return fail('ERR unknown argument given to redis.register_function')
      end
    end
    if name == nil then return fail('ERR redis.register_function must get a function name argument') end
    if callback == nil then return fail('ERR redis.register_function must get a callback argument') end
  elseif n == 2 then
    name, callback = ...
    if type(name) ~= 'string' then return fail('ERR first argument to redis.register_function must be a string') end
    if type(callback) ~= 'function' then return fail('ERR second argument to redis.register_function must be a function') end
  else
    return fail('ERR wrong number of arguments to redis.register_function')
  end
  if not name:find('^[%w_]+$') then
    return fail(bridge.bad_name)
  end
  local pending = bridge.pending
  local lower = name:lower()
  for i = 1, #pending do
    if pending[i].name:lower() == lower then return fail('ERR Function already exists in the library') end
  end
  pending[#pending + 1] = {name = name, callback = callback, description = description, flags = flags or {}}
  return nil, false
end
"#;

/// Splits a library's `#!<engine> name=<lib>` line from its code: (name, code from the end of
/// the shebang line, so line numbers stay). `Err` is Redis's error line.
pub fn parse_metadata(code: &[u8]) -> Result<(String, &[u8]), String> {
    if !code.starts_with(b"#!") {
        return Err("ERR Missing library metadata".into());
    }
    let Some(eol) = code.iter().position(|&b| b == b'\n') else {
        return Err("ERR Invalid library metadata".into());
    };
    let line = String::from_utf8_lossy(&code[2..eol]).into_owned();
    let mut parts = line.split(' ').filter(|p| !p.is_empty());
    let engine = parts.next().unwrap_or_default().to_string();
    let mut name: Option<String> = None;
    for part in parts {
        if part.len() >= 5 && part[..5].eq_ignore_ascii_case("name=") {
            if name.is_some() {
                return Err(
                    "ERR Invalid metadata value, name argument was given multiple times".into(),
                );
            }
            name = Some(part[5..].to_string());
        } else {
            return Err(format!("ERR Invalid metadata value given: {part}"));
        }
    }
    let name = name.ok_or_else(|| "ERR Library name was not given".to_string())?;
    if !valid_name(&name) {
        return Err(BAD_NAME.into());
    }
    if !engine.eq_ignore_ascii_case("lua") {
        return Err(format!("ERR Engine '{engine}' not found"));
    }
    Ok((name, &code[eol..]))
}

fn valid_name(name: &str) -> bool {
    !name.is_empty() && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

impl Engine {
    /// Recompiles every library if the keyspace holds a set this engine has not compiled.
    pub fn sync(&mut self, ks: &crate::keyspace::Keyspace, version: &str) {
        if self.synced == Some(ks.functions_version()) {
            return;
        }
        let durable = ks.functions();
        self.vm = None;
        self.libraries.clear();
        for code in &durable.libraries {
            match self.compile(code.clone(), version) {
                Ok(lib) => {
                    self.libraries.insert(lib.name.clone(), Arc::new(lib));
                }
                Err(e) => tracing::error!(
                    "a stored function library does not load ({e}); it stays stored but its \
                     functions cannot be called"
                ),
            }
        }
        self.reindex();
        self.synced = Some(durable.version);
    }

    /// The engine now mirrors the keyspace's libraries at `version` (after a change it logged).
    pub fn mark_synced(&mut self, version: u64) {
        self.synced = Some(version);
    }

    fn reindex(&mut self) {
        self.index.clear();
        for lib in self.libraries.values() {
            for (i, f) in lib.functions.iter().enumerate() {
                self.index
                    .insert(f.name.to_ascii_lowercase(), (lib.clone(), i));
            }
        }
        self.counts[0].store(self.libraries.len() as u64, Ordering::Relaxed);
        self.counts[1].store(self.index.len() as u64, Ordering::Relaxed);
    }

    /// (VM memory, bytes of library code).
    pub fn memory(&self) -> (usize, usize) {
        (
            self.vm.as_ref().map_or(0, |v| v.lua.used_memory()),
            self.libraries.values().map(|l| l.code.len()).sum(),
        )
    }

    pub fn libraries(&self) -> impl Iterator<Item = &Arc<Library>> {
        self.libraries.values()
    }

    /// The codes of every library, in name order (what the keyspace logs).
    pub fn codes(&self) -> Vec<Bytes> {
        self.libraries.values().map(|l| l.code.clone()).collect()
    }

    pub fn find(&self, name: &[u8]) -> Option<(Arc<Library>, usize)> {
        let lower = String::from_utf8_lossy(name).to_ascii_lowercase();
        self.index.get(&lower).cloned()
    }

    /// FUNCTION LOAD: the library the code defines, checked against the loaded ones; nothing
    /// changes until [`Engine::install`].
    pub fn prepare_load(
        &mut self,
        code: Bytes,
        replace: bool,
        version: &str,
    ) -> Result<Library, String> {
        let (name, _) = parse_metadata(&code)?;
        if !replace && self.libraries.contains_key(&name) {
            return Err(format!("ERR Library '{name}' already exists"));
        }
        let lib = self.compile(code, version)?;
        for f in &lib.functions {
            if let Some((other, _)) = self.find(f.name.as_bytes()) {
                if other.name != lib.name {
                    return Err(format!("ERR Function {} already exists", f.name));
                }
            }
        }
        Ok(lib)
    }

    /// Adds (or replaces) a prepared library.
    pub fn install(&mut self, lib: Library) {
        self.libraries.insert(lib.name.clone(), Arc::new(lib));
        self.reindex();
    }

    pub fn delete(&mut self, name: &[u8]) -> bool {
        let name = String::from_utf8_lossy(name);
        let gone = self.libraries.remove(name.as_ref()).is_some();
        self.reindex();
        gone
    }

    pub fn flush(&mut self) {
        self.libraries.clear();
        self.reindex();
        self.vm = None;
    }

    /// FUNCTION DUMP.
    pub fn dump(&self) -> Vec<u8> {
        let mut out = b"VXFN\x01".to_vec();
        out.extend_from_slice(&(self.libraries.len() as u32).to_le_bytes());
        for lib in self.libraries.values() {
            out.extend_from_slice(&(lib.code.len() as u32).to_le_bytes());
            out.extend_from_slice(&lib.code);
        }
        let sum = checksum(&out);
        out.extend_from_slice(&sum);
        out
    }

    /// FUNCTION RESTORE: the libraries of `payload` joined to the loaded ones by `policy`, all
    /// or nothing.
    pub fn restore(&mut self, payload: &[u8], policy: Policy, version: &str) -> Result<(), String> {
        let codes = parse_dump(payload).ok_or("ERR DUMP payload version or checksum are wrong")?;
        let mut restored = Vec::with_capacity(codes.len());
        for code in codes {
            restored.push(self.compile(code, version)?);
        }
        let mut next = match policy {
            Policy::Flush => BTreeMap::new(),
            _ => self.libraries.clone(),
        };
        for lib in &restored {
            if next.contains_key(&lib.name) {
                if policy == Policy::Append {
                    return Err(format!("ERR Library {} already exists", lib.name));
                }
                next.remove(&lib.name);
            }
        }
        let mut taken: HashMap<String, ()> = next
            .values()
            .flat_map(|l| {
                l.functions
                    .iter()
                    .map(|f| (f.name.to_ascii_lowercase(), ()))
            })
            .collect();
        for lib in &restored {
            for f in &lib.functions {
                if taken.insert(f.name.to_ascii_lowercase(), ()).is_some() {
                    return Err(format!("ERR Function {} already exists", f.name));
                }
            }
        }
        for lib in restored {
            next.insert(lib.name.clone(), Arc::new(lib));
        }
        self.libraries = next;
        self.reindex();
        Ok(())
    }

    fn vm(&mut self, version: &str) -> Result<&mut Vm, String> {
        if self.vm.is_none() {
            let vm = Vm::new(version)
                .and_then(|vm| {
                    vm.lua
                        .load(FN_BOOTSTRAP)
                        .set_name("=vaylix-functions")
                        .call::<()>(vm.bridge.clone())?;
                    vm.bridge.raw_set("bad_name", BAD_NAME)?;
                    let register: Function = vm.bridge.raw_get("register_function")?;
                    let load_redis: Table = vm.bridge.raw_get("load_redis")?;
                    load_redis.raw_set("register_function", raising(&vm.lua, register)?)?;
                    Ok(vm)
                })
                .map_err(|e| format!("ERR Lua VM: {e}"))?;
            self.vm = Some(vm);
        }
        self.vm
            .as_mut()
            .ok_or_else(|| "ERR Lua VM unavailable".to_string())
    }

    /// Compiles and runs a library's code in a fresh load-time environment: its functions.
    fn compile(&mut self, code: Bytes, version: &str) -> Result<Library, String> {
        let (name, body) = parse_metadata(&code)?;
        let body = body.to_vec();
        let vm = self.vm(version)?;
        let lua = &vm.lua;
        let chunk = lua
            .load(&body[..])
            .set_name("@user_function")
            .set_mode(mlua::chunk::ChunkMode::Text)
            .into_function()
            .map_err(|e| format!("ERR Error compiling function: {}", lua_message(&e)))?;
        let vm_err = |e: mlua::Error| format!("ERR Lua VM: {e}");
        let factory: Function = vm.bridge.raw_get("library_env").map_err(vm_err)?;
        let (env, activate): (Table, Function) = factory.call(()).map_err(vm_err)?;
        chunk.set_environment(env).map_err(vm_err)?;
        vm.bridge
            .raw_set("pending", lua.create_table().map_err(vm_err)?)
            .map_err(vm_err)?;
        let started = Instant::now();
        let timed_out = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let flag = timed_out.clone();
        let _ = lua.set_hook(
            HookTriggers::new().every_nth_instruction(100_000),
            move |_, _| {
                if started.elapsed() > LOAD_TIMEOUT {
                    flag.store(true, std::sync::atomic::Ordering::Relaxed);
                    return Err(mlua::Error::runtime("FUNCTION LOAD timeout"));
                }
                Ok(VmState::Continue)
            },
        );
        let result: mlua::Result<MultiValue> = vm.xpcall.call((chunk, vm.handler.clone()));
        lua.remove_hook();
        // The run hook (busy/kill) is installed again by the next FCALL.
        vm.hooked = false;
        let pending: Table = vm.bridge.raw_get("pending").map_err(vm_err)?;
        let _ = vm.bridge.raw_set("pending", Value::Nil);
        let r = result.map_err(|e| format!("{REGISTERING}ERR {}", lua_message(&e)))?;
        let mut it = r.into_iter();
        if !matches!(it.next(), Some(Value::Boolean(true))) {
            if timed_out.load(std::sync::atomic::Ordering::Relaxed) {
                return Err(format!("{REGISTERING}FUNCTION LOAD timeout"));
            }
            let msg = match it.next() {
                Some(Value::Table(t)) => t
                    .get::<mlua::LuaString>("err")
                    .map(|s| String::from_utf8_lossy(&s.as_bytes()).into_owned())
                    .unwrap_or_else(|_| "ERR unknown error".into()),
                Some(v) => format!("ERR {}", v.to_string().unwrap_or_default()),
                None => "ERR unknown error".into(),
            };
            return Err(format!("{REGISTERING}{}", msg.replace(['\r', '\n'], " ")));
        }
        let mut functions = Vec::new();
        for entry in pending.sequence_values::<Table>() {
            let entry = entry.map_err(vm_err)?;
            let flags_t: Table = entry.get("flags").map_err(vm_err)?;
            let on = |n: &str| flags_t.get::<bool>(n).unwrap_or(false);
            functions.push(FunctionDef {
                name: entry.get("name").map_err(vm_err)?,
                description: entry
                    .get::<Option<mlua::LuaString>>("description")
                    .map_err(vm_err)?
                    .map(|s| Bytes::copy_from_slice(&s.as_bytes())),
                flags: Flags {
                    shebang: true,
                    no_writes: on("no-writes"),
                    allow_oom: on("allow-oom"),
                    allow_stale: on("allow-stale"),
                    no_cluster: on("no-cluster"),
                    allow_cross_slot_keys: on("allow-cross-slot-keys"),
                },
                callback: entry.get("callback").map_err(vm_err)?,
            });
        }
        if functions.is_empty() {
            return Err("ERR No functions registered".into());
        }
        activate.call::<()>(()).map_err(vm_err)?;
        Ok(Library {
            name,
            code,
            functions,
        })
    }

    /// The VM and the callback of function `index` of `lib`, to run it.
    pub(super) fn callable(&mut self, lib: &Library, index: usize) -> Option<(&mut Vm, Function)> {
        let f = lib.functions.get(index)?.callback.clone();
        Some((self.vm.as_mut()?, f))
    }
}

fn checksum(bytes: &[u8]) -> [u8; 8] {
    use sha2::Digest;
    let d = sha2::Sha256::digest(bytes);
    let mut out = [0u8; 8];
    out.copy_from_slice(&d[..8]);
    out
}

/// The codes in a FUNCTION DUMP payload, or `None` if it is not one this build wrote.
fn parse_dump(p: &[u8]) -> Option<Vec<Bytes>> {
    if p.len() < 17 || !p.starts_with(b"VXFN\x01") {
        return None;
    }
    let (body, sum) = p.split_at(p.len() - 8);
    if checksum(body) != sum {
        return None;
    }
    let u32_at = |at: usize| -> Option<usize> {
        Some(u32::from_le_bytes(body.get(at..at + 4)?.try_into().ok()?) as usize)
    };
    let count = u32_at(5)?;
    let mut at = 9;
    let mut codes = Vec::new();
    for _ in 0..count {
        let n = u32_at(at)?;
        at += 4;
        codes.push(Bytes::copy_from_slice(body.get(at..at.checked_add(n)?)?));
        at += n;
    }
    (at == body.len()).then_some(codes)
}
