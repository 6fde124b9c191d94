//! Test harness: starts the real `vaylix` binary on a free loopback port with a temp data dir,
//! and stops it by PID when dropped.
#![allow(dead_code)]

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub struct Server {
    pub port: u16,
    pub child: Option<Child>,
    pub dir: PathBuf,
    _tmp: Option<tempfile::TempDir>,
    pub args: Vec<String>,
}

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

impl Server {
    pub fn start(args: &[&str]) -> Server {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("data");
        let mut s = Server {
            port: 0,
            child: None,
            dir,
            _tmp: Some(tmp),
            args: args.iter().map(|a| a.to_string()).collect(),
        };
        s.spawn();
        s
    }

    /// Starts on an existing data dir (restart tests).
    pub fn start_in(dir: &Path, args: &[&str]) -> Server {
        let mut s = Server {
            port: 0,
            child: None,
            dir: dir.to_path_buf(),
            _tmp: None,
            args: args.iter().map(|a| a.to_string()).collect(),
        };
        s.spawn();
        s
    }

    pub fn spawn(&mut self) {
        let port = free_port();
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_vaylix"));
        cmd.args([
            "--port",
            &port.to_string(),
            "--bind",
            "127.0.0.1",
            "--data-dir",
        ])
        .arg(&self.dir)
        .args(&self.args)
        .env_remove("VAYLIX_MASTER_KEY")
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
        let child = cmd.spawn().expect("spawn vaylix");
        self.port = port;
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if let Ok(mut s) = TcpStream::connect(("127.0.0.1", port)) {
                s.set_read_timeout(Some(Duration::from_secs(2))).ok();
                if s.write_all(b"PING\r\n").is_ok() {
                    let mut buf = [0u8; 7];
                    // +PONG, or -NOAUTH when a password is required: either way it serves.
                    if s.read_exact(&mut buf).is_ok()
                        && (&buf == b"+PONG\r\n" || buf.starts_with(b"-NOAUTH"))
                    {
                        return;
                    }
                }
            }
            if let Some(Ok(Some(status))) = self.child.as_mut().map(|c| c.try_wait()) {
                let mut err = String::new();
                if let Some(mut e) = self.child.as_mut().and_then(|c| c.stderr.take()) {
                    e.read_to_string(&mut err).ok();
                }
                panic!("vaylix exited during start-up ({status}): {err}");
            }
            assert!(
                Instant::now() < deadline,
                "vaylix did not answer PING within 20 s"
            );
            std::thread::sleep(Duration::from_millis(25));
        }
    }

    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/", self.port)
    }

    pub fn client(&self) -> redis::Connection {
        redis::Client::open(self.url())
            .unwrap()
            .get_connection()
            .unwrap()
    }

    pub fn raw(&self) -> Raw {
        let s = TcpStream::connect(("127.0.0.1", self.port)).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        Raw { s }
    }

    /// kill -9.
    pub fn kill9(&mut self) {
        if let Some(mut c) = self.child.take() {
            c.kill().ok();
            c.wait().ok();
        }
    }

    /// SIGTERM and wait for the exit status.
    pub fn terminate(&mut self) -> std::process::ExitStatus {
        let mut c = self.child.take().expect("running");
        unsafe { libc_kill(c.id() as i32, 15) };
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Ok(Some(st)) = c.try_wait() {
                return st;
            }
            if Instant::now() > deadline {
                c.kill().ok();
                panic!("vaylix did not exit within 30 s of SIGTERM");
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

extern "C" {
    #[link_name = "kill"]
    fn libc_kill(pid: i32, sig: i32) -> i32;
}

impl Drop for Server {
    fn drop(&mut self) {
        self.kill9();
    }
}

/// A raw TCP client for protocol edge cases.
pub struct Raw {
    pub s: TcpStream,
}

impl Raw {
    pub fn send(&mut self, bytes: &[u8]) {
        self.s.write_all(bytes).unwrap();
    }

    /// Reads until `n` bytes or EOF/timeout.
    pub fn read_exactly(&mut self, n: usize) -> Vec<u8> {
        let mut out = vec![0u8; n];
        let mut got = 0;
        while got < n {
            match self.s.read(&mut out[got..]) {
                Ok(0) | Err(_) => break,
                Ok(k) => got += k,
            }
        }
        out.truncate(got);
        out
    }

    /// Reads one line (through \r\n).
    pub fn line(&mut self) -> String {
        let mut out = Vec::new();
        let mut b = [0u8; 1];
        while !out.ends_with(b"\r\n") {
            match self.s.read(&mut b) {
                Ok(0) | Err(_) => break,
                Ok(_) => out.push(b[0]),
            }
        }
        String::from_utf8_lossy(&out).into_owned()
    }

    /// True if the server closed the connection (EOF) within the timeout.
    pub fn closed(&mut self) -> bool {
        let mut b = [0u8; 64];
        loop {
            match self.s.read(&mut b) {
                Ok(0) => return true,
                Ok(_) => continue,
                Err(e) => return e.kind() == std::io::ErrorKind::ConnectionReset,
            }
        }
    }
}

/// A reply read as a map of field name to value (BACKUP, RESTORE).
pub type Fields = std::collections::HashMap<String, redis::Value>;

/// Runs `vaylix <args>` to completion; returns (exit code, stdout, stderr).
pub fn vaylix(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_vaylix"))
        .args(args)
        .env_remove("VAYLIX_MASTER_KEY")
        .output()
        .expect("run vaylix");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// A path as `&str`, for command-line arguments.
pub fn p(path: &Path) -> &str {
    path.to_str().unwrap()
}

/// The error reply of `r` as "CODE detail"; panics if `r` is not an error.
pub fn err_text<T: std::fmt::Debug>(r: redis::RedisResult<T>) -> String {
    let e = r.expect_err("expected an error reply");
    format!("{} {}", e.code().unwrap_or(""), e.detail().unwrap_or(""))
}

/// The integer field `k` of a map reply.
pub fn int(f: &Fields, k: &str) -> i64 {
    redis::from_redis_value(
        f.get(k)
            .unwrap_or_else(|| panic!("no field {k} in {f:?}"))
            .clone(),
    )
    .unwrap()
}

/// `VERSION key`: the key's version, or None if it does not exist.
pub fn version(c: &mut redis::Connection, key: impl AsRef<[u8]>) -> Option<u64> {
    redis::cmd("VERSION").arg(key.as_ref()).query(c).unwrap()
}

/// The current wall-clock time in Unix milliseconds.
/// Every key of the connection's database, by a full SCAN.
pub fn all_keys(c: &mut redis::Connection) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    let mut cursor = 0u64;
    loop {
        let (next, keys): (u64, Vec<Vec<u8>>) = redis::cmd("SCAN")
            .arg(cursor)
            .arg("COUNT")
            .arg(1000)
            .query(c)
            .unwrap();
        out.extend(keys);
        if next == 0 {
            return out;
        }
        cursor = next;
    }
}

pub fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64
}

/// The value of `name` in `INFO persistence`.
pub fn info_field(c: &mut redis::Connection, name: &str) -> String {
    info_section_field(c, "persistence", name)
}

/// The value of `name` in `INFO section` (`everything` for any section).
pub fn info_section_field(c: &mut redis::Connection, section: &str, name: &str) -> String {
    let info: String = redis::cmd("INFO").arg(section).query(c).unwrap();
    info.lines()
        .find_map(|l| l.strip_prefix(&format!("{name}:")))
        .unwrap_or_else(|| panic!("{name} in INFO: {info}"))
        .trim()
        .to_string()
}

/// `FUNCTION LOAD [REPLACE] code`, which must succeed.
#[allow(dead_code)]
pub fn function_load(c: &mut redis::Connection, code: &str, replace: bool) {
    let mut cmd = redis::cmd("FUNCTION");
    cmd.arg("LOAD");
    if replace {
        cmd.arg("REPLACE");
    }
    let _: String = cmd.arg(code).query(c).unwrap();
}

/// `vaylix storage verify --data-dir dir` exits 0 (its output in the failure message).
#[allow(dead_code)]
pub fn assert_storage_verifies(dir: &Path) {
    let out = Command::new(env!("CARGO_BIN_EXE_vaylix"))
        .args(["storage", "verify", "--data-dir"])
        .arg(dir)
        .env_remove("VAYLIX_MASTER_KEY")
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// `FUNCTION LIST WITHCODE` as library name -> code.
#[allow(dead_code)]
pub fn function_libraries(c: &mut redis::Connection) -> std::collections::BTreeMap<String, String> {
    let entries: Vec<Vec<redis::Value>> = redis::cmd("FUNCTION")
        .arg("LIST")
        .arg("WITHCODE")
        .query(c)
        .unwrap();
    entries
        .into_iter()
        .map(|fields| {
            let get = |name: &str| -> String {
                let at = fields
                    .iter()
                    .position(|v| {
                        redis::from_redis_value::<String>(v.clone()).ok().as_deref() == Some(name)
                    })
                    .unwrap_or_else(|| panic!("no {name} in {fields:?}"));
                redis::from_redis_value(fields[at + 1].clone()).unwrap()
            };
            (get("library_name"), get("library_code"))
        })
        .collect()
}

/// The server's default backup dir.
pub fn backups(srv: &Server) -> PathBuf {
    srv.dir.join("backups")
}

/// Copies the committed fixture `tests/fixtures/datadir/<name>` into `tmp/data` (a server
/// writes into the dir it opens).
pub fn fixture_dir(tmp: &Path, name: &str) -> PathBuf {
    let src = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/datadir")
        .join(name);
    let dst = tmp.join("data");
    let mut stack = vec![PathBuf::new()];
    while let Some(rel) = stack.pop() {
        std::fs::create_dir_all(dst.join(&rel)).unwrap();
        for e in std::fs::read_dir(src.join(&rel)).unwrap() {
            let e = e.unwrap();
            let r = rel.join(e.file_name());
            if e.metadata().unwrap().is_dir() {
                stack.push(r);
            } else {
                std::fs::copy(e.path(), dst.join(&r)).unwrap();
            }
        }
    }
    dst
}

/// Waits (bounded) for `child` to exit; past `within` it is killed and the test fails with
/// `what` in the message.
pub fn wait_exit(child: &mut Child, within: Duration, what: &str) -> std::process::ExitStatus {
    let deadline = Instant::now() + within;
    loop {
        if let Some(st) = child.try_wait().unwrap() {
            return st;
        }
        if Instant::now() > deadline {
            child.kill().ok();
            child.wait().ok();
            panic!("{what}: no exit within {within:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}
