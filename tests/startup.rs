//! How the server starts and lives as a process: Redis configuration files (the stock Debian
//! redis.conf, the shipped vaylix.conf), `tcp-backlog`, `logfile`, `log-format`, `pidfile`,
//! `daemonize`, `supervised systemd`, the start-up log lines and `--help`.

mod common;

use common::{free_port, Server};
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

extern "C" {
    fn kill(pid: i32, sig: i32) -> i32;
}

/// A vaylix process started with an optional config file first, stopped by PID when dropped.
struct Proc {
    child: Child,
    port: u16,
}

impl Drop for Proc {
    fn drop(&mut self) {
        self.child.kill().ok();
        self.child.wait().ok();
    }
}

fn ping_ok(port: u16) -> bool {
    let Ok(c) = redis::Client::open(format!("redis://127.0.0.1:{port}/")) else {
        return false;
    };
    let Ok(mut con) = c.get_connection_with_timeout(Duration::from_secs(2)) else {
        return false;
    };
    redis::cmd("PING").query::<String>(&mut con).is_ok()
}

/// `vaylix [conf] --port P --bind 127.0.0.1 --data-dir D ARGS`, waiting until it answers PING.
fn start(conf: Option<&Path>, data: &Path, args: &[&str], env: &[(&str, &Path)]) -> Proc {
    let port = free_port();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_vaylix"));
    if let Some(c) = conf {
        cmd.arg(c);
    }
    cmd.args([
        "--port",
        &port.to_string(),
        "--bind",
        "127.0.0.1",
        "--data-dir",
    ])
    .arg(data)
    .args(args)
    .env_remove("VAYLIX_MASTER_KEY")
    .stdout(Stdio::null())
    .stderr(Stdio::piped());
    for (k, v) in env {
        cmd.env(k, v);
    }
    let mut p = Proc {
        child: cmd.spawn().unwrap(),
        port,
    };
    let deadline = Instant::now() + Duration::from_secs(20);
    while !ping_ok(port) {
        if let Some(st) = p.child.try_wait().unwrap() {
            let mut err = String::new();
            if let Some(mut e) = p.child.stderr.take() {
                std::io::Read::read_to_string(&mut e, &mut err).ok();
            }
            panic!("vaylix exited during start-up ({st}): {err}");
        }
        assert!(
            Instant::now() < deadline,
            "vaylix did not serve within 20 s"
        );
        std::thread::sleep(Duration::from_millis(25));
    }
    p
}

fn terminate(child: &mut Child) -> std::process::ExitStatus {
    unsafe { kill(child.id() as i32, 15) };
    common::wait_exit(child, Duration::from_secs(30), "SIGTERM")
}

fn config_get(port: u16, name: &str) -> String {
    let mut con = redis::Client::open(format!("redis://127.0.0.1:{port}/"))
        .unwrap()
        .get_connection()
        .unwrap();
    let v: Vec<String> = redis::cmd("CONFIG")
        .arg("GET")
        .arg(name)
        .query(&mut con)
        .unwrap();
    v.get(1).cloned().unwrap_or_default()
}

/// Reads the server's stderr lines up to and including the one that contains `until`.
fn stderr_lines_until(child: &mut Child, until: &str) -> Vec<String> {
    let err = child.stderr.take().expect("stderr piped");
    let mut lines = Vec::new();
    for line in BufReader::new(err).lines() {
        let line = line.unwrap();
        let done = line.contains(until);
        lines.push(line);
        if done {
            return lines;
        }
    }
    panic!("stderr ended without '{until}': {lines:#?}");
}

/// The directives the stock redis.conf sets that vaylix implements; every other one must be
/// ignored with exactly one warning line.
const IMPLEMENTED: &[&str] = &[
    "slowlog-log-slower-than",
    "slowlog-max-len",
    "latency-tracking",
    "latency-tracking-info-percentiles",
    "latency-monitor-threshold",
    "bind",
    "protected-mode",
    "port",
    "tcp-backlog",
    "timeout",
    "tcp-keepalive",
    "daemonize",
    "pidfile",
    "loglevel",
    "logfile",
    "databases",
    "dir",
    "appendonly",
    "appendfsync",
    "hz",
    "save",
    "requirepass",
    "maxclients",
    "maxmemory",
    "maxmemory-policy",
    "proto-max-bulk-len",
    "client-query-buffer-limit",
    "supervised",
    // The collection encoding thresholds (and the older names of the hash and zset ones).
    "hash-max-listpack-entries",
    "hash-max-listpack-value",
    "hash-max-ziplist-entries",
    "hash-max-ziplist-value",
    "set-max-intset-entries",
    "set-max-listpack-entries",
    "set-max-listpack-value",
    "zset-max-listpack-entries",
    "zset-max-listpack-value",
    "zset-max-ziplist-entries",
    "zset-max-ziplist-value",
    "list-max-listpack-size",
    "list-max-ziplist-size",
    "list-compress-depth",
    // Pub/sub (issue 15).
    "notify-keyspace-events",
    "client-output-buffer-limit",
    "tracking-table-max-keys",
    // Scripting (issue 16).
    "busy-reply-threshold",
    "lua-time-limit",
];

#[test]
fn stock_debian_redis_conf_starts_and_warns_once_per_ignored_directive() {
    let Ok(text) = std::fs::read_to_string("/etc/redis/redis.conf") else {
        eprintln!("skipped: no readable /etc/redis/redis.conf (Debian's redis-server package)");
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let conf = tmp.path().join("redis.conf");
    std::fs::write(&conf, &text).unwrap();
    let log = tmp.path().join("vaylix.log");
    let pid = tmp.path().join("vaylix.pid");
    let (log_s, pid_s) = (log.display().to_string(), pid.display().to_string());
    // The file's own logfile, pidfile, bind and daemonize point at the system's paths.
    let mut p = start(
        Some(&conf),
        &tmp.path().join("data"),
        &[
            "--logfile",
            &log_s,
            "--pidfile",
            &pid_s,
            "--daemonize",
            "no",
        ],
        &[],
    );
    assert_eq!(config_get(p.port, "tcp-backlog"), "511");
    assert_eq!(config_get(p.port, "appendonly"), "yes", "the WAL stays on");
    // The stock file's thresholds are obeyed (Debian ships Redis's defaults).
    assert_eq!(config_get(p.port, "hash-max-listpack-entries"), "512");
    assert_eq!(config_get(p.port, "set-max-intset-entries"), "512");
    assert_eq!(config_get(p.port, "zset-max-listpack-entries"), "128");
    let written: u32 = std::fs::read_to_string(&pid)
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    assert_eq!(written, p.child.id(), "pidfile holds the server's PID");
    let st = terminate(&mut p.child);
    assert_eq!(st.code(), Some(0));
    assert!(!pid.exists(), "pidfile removed at a clean exit");

    let logged = std::fs::read_to_string(&log).unwrap();
    assert!(!logged.contains('\x1b'), "no ANSI colours in a logfile");
    let warnings: Vec<&str> = logged
        .lines()
        .filter(|l| l.contains("is a Redis directive vaylix does not implement"))
        .collect();
    let mut expected = 0;
    for (i, line) in text.lines().enumerate() {
        let line = line.trim();
        let Some(name) = line.split_whitespace().next() else {
            continue;
        };
        if line.starts_with('#') || IMPLEMENTED.contains(&name) {
            continue;
        }
        expected += 1;
        let tag = format!("line {}: '{name}'", i + 1);
        let n = warnings.iter().filter(|w| w.contains(&tag)).count();
        assert_eq!(n, 1, "one warning for {tag}:\n{logged}");
    }
    assert!(
        expected > 40,
        "the stock file sets many Redis-only directives"
    );
    assert_eq!(warnings.len(), expected, "{logged}");
    assert_eq!(logged.matches("'appendonly no' ignored").count(), 1);
}

#[test]
fn shipped_vaylix_conf_starts_without_warnings() {
    let conf = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("vaylix.conf");
    let tmp = tempfile::tempdir().unwrap();
    let mut p = start(Some(&conf), &tmp.path().join("data"), &[], &[]);
    assert_eq!(config_get(p.port, "appendfsync"), "always");
    let lines = stderr_lines_until(&mut p.child, "Ready to accept connections");
    let warnings: Vec<_> = lines
        .iter()
        .filter(|l| l.contains("WARN"))
        .filter(|l| !l.contains("no master key configured") && !l.contains("somaxconn"))
        .collect();
    assert!(warnings.is_empty(), "{warnings:#?}");
}

#[test]
fn tcp_backlog_is_511_and_a_thousand_clients_connect_at_once() {
    // The test process holds 1,000 sockets and so does the server (which inherits the limit).
    unsafe {
        let mut lim = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) == 0 && lim.rlim_cur < 4096 {
            lim.rlim_cur = lim.rlim_max.min(4096);
            libc::setrlimit(libc::RLIMIT_NOFILE, &lim);
        }
    }
    let srv = Server::start(&[]);
    assert_eq!(config_get(srv.port, "tcp-backlog"), "511");
    // The kernel's view of the listen queue (ss prints a listener's backlog as Send-Q).
    if let Ok(out) = Command::new("ss")
        .args(["-Hltn", &format!("sport = :{}", srv.port)])
        .output()
    {
        let somaxconn: u64 = std::fs::read_to_string("/proc/sys/net/core/somaxconn")
            .map(|s| s.trim().parse().unwrap_or(4096))
            .unwrap_or(4096);
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        let backlog: u64 = text
            .split_whitespace()
            .nth(2)
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| panic!("ss output: {text}"));
        assert_eq!(backlog, 511.min(somaxconn), "{text}");
    }

    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let port = srv.port;
    let t = Instant::now();
    let ok = rt.block_on(async move {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let mut tasks = Vec::new();
        for _ in 0..1000 {
            tasks.push(tokio::spawn(async move {
                let mut s = tokio::net::TcpStream::connect(("127.0.0.1", port)).await?;
                s.write_all(b"PING\r\n").await?;
                let mut buf = [0u8; 7];
                s.read_exact(&mut buf).await?;
                // Hold every connection until all are made.
                std::io::Result::Ok((buf == *b"+PONG\r\n", s))
            }));
        }
        let mut ok = 0;
        let mut held = Vec::new();
        for t in tasks {
            if let Ok(Ok(Ok((true, s)))) = tokio::time::timeout(Duration::from_secs(60), t).await {
                ok += 1;
                held.push(s);
            }
        }
        ok
    });
    let took = t.elapsed();
    assert_eq!(ok, 1000, "every client connected and got PONG");
    assert!(
        took < Duration::from_secs(30),
        "1,000 connections took {took:?}"
    );
}

#[test]
fn startup_log_names_version_pid_data_dir_fsync_and_key_source_without_colours() {
    let mut srv = Server::start(&["--appendfsync", "everysec"]);
    let pid = srv.child.as_ref().unwrap().id();
    let lines = stderr_lines_until(srv.child.as_mut().unwrap(), "Ready to accept connections");
    let all = lines.join("\n");
    assert!(!all.contains('\x1b'), "no ANSI colours on a pipe: {all}");
    let version = format!("vaylix {}", env!("CARGO_PKG_VERSION"));
    assert!(
        all.contains(&version) && all.contains(&format!("pid {pid}")),
        "{all}"
    );
    let dir = std::fs::canonicalize(&srv.dir).unwrap();
    assert!(
        all.contains(&format!("data dir {}", dir.display())),
        "{all}"
    );
    assert!(all.contains("appendfsync everysec"), "{all}");
    assert!(all.contains("master key from generated"), "{all}");
    srv.terminate();

    // Restarted with the key file it generated: the source is the file now.
    let mut srv = Server::start_in(&dir, &["--log-format", "json"]);
    let lines = stderr_lines_until(srv.child.as_mut().unwrap(), "Ready to accept connections");
    let mut messages = Vec::new();
    for l in &lines {
        let v: serde_json::Value = serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}"));
        messages.push(
            v["fields"]["message"]
                .as_str()
                .unwrap_or_default()
                .to_string(),
        );
    }
    assert!(
        messages
            .iter()
            .any(|m| m.contains("master key from embedded")),
        "{messages:#?}"
    );
}

#[test]
fn daemonize_yes_returns_once_serving_and_the_pidfile_follows_the_daemon() {
    let tmp = tempfile::tempdir().unwrap();
    let (pid, log) = (tmp.path().join("v.pid"), tmp.path().join("v.log"));
    let port = free_port();
    let run = |data: &str, pid: &Path| {
        let mut c = Command::new(env!("CARGO_BIN_EXE_vaylix"))
            .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
            .args(["--daemonize", "yes", "--data-dir"])
            .arg(tmp.path().join(data))
            .arg("--pidfile")
            .arg(pid)
            .arg("--logfile")
            .arg(&log)
            .env_remove("VAYLIX_MASTER_KEY")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        common::wait_exit(&mut c, Duration::from_secs(30), "the daemonizing parent")
    };
    let st = run("a", &pid);
    assert_eq!(st.code(), Some(0));
    assert!(ping_ok(port), "serving as soon as the command returned");
    let daemon: i32 = std::fs::read_to_string(&pid)
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    // A second one cannot listen on the same port: its parent reports the failure.
    let pid_b = tmp.path().join("b.pid");
    assert_eq!(
        run("b", &pid_b).code(),
        Some(1),
        "a daemon that failed to start"
    );
    assert!(!pid_b.exists(), "the failed daemon removed its pidfile");
    assert!(ping_ok(port));

    unsafe { kill(daemon, 15) };
    // Not our child: gone when /proc has no live process with that PID (a zombie has exited).
    let deadline = Instant::now() + Duration::from_secs(30);
    let stat = format!("/proc/{daemon}/stat");
    while std::fs::read_to_string(&stat).is_ok_and(|s| !s.contains(") Z ")) {
        assert!(Instant::now() < deadline, "the daemon ignored SIGTERM");
        std::thread::sleep(Duration::from_millis(20));
    }
    let logged = std::fs::read_to_string(&log).unwrap();
    assert!(logged.contains("ready to exit"), "{logged}");
    assert!(!logged.contains('\x1b'));
    assert!(!pid.exists(), "pidfile removed at exit");
}

#[test]
fn supervised_systemd_notifies_ready_and_stopping() {
    let tmp = tempfile::tempdir().unwrap();
    let sock_path = tmp.path().join("notify.sock");
    let sock = std::os::unix::net::UnixDatagram::bind(&sock_path).unwrap();
    sock.set_read_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    let mut p = start(
        None,
        &tmp.path().join("data"),
        &["--supervised", "systemd"],
        &[("NOTIFY_SOCKET", &sock_path)],
    );
    let mut buf = [0u8; 256];
    let n = sock.recv(&mut buf).expect("READY=1 within 20 s");
    assert_eq!(&buf[..n], b"READY=1");
    assert_eq!(terminate(&mut p.child).code(), Some(0));
    let n = sock.recv(&mut buf).expect("STOPPING=1");
    assert_eq!(&buf[..n], b"STOPPING=1");
}

#[test]
fn help_lists_the_offline_subcommands_and_every_parameter() {
    let out = Command::new(env!("CARGO_BIN_EXE_vaylix"))
        .arg("--help")
        .output()
        .unwrap();
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    for s in [
        "vaylix storage verify",
        "vaylix pitr inspect",
        "vaylix backup verify",
        "--tcp-backlog",
        "--logfile",
        "--log-format",
        "--pidfile",
        "--daemonize",
    ] {
        assert!(text.contains(s), "--help lacks '{s}':\n{text}");
    }
}

#[test]
fn config_set_loglevel_takes_effect_at_run_time() {
    let tmp = tempfile::tempdir().unwrap();
    let log = tmp.path().join("v.log");
    let log_s = log.display().to_string();
    let p = start(None, &tmp.path().join("data"), &["--logfile", &log_s], &[]);
    let mut con = redis::Client::open(format!("redis://127.0.0.1:{}/", p.port))
        .unwrap()
        .get_connection()
        .unwrap();
    let mut save_with_level = |level: &str, key: &str| {
        let _: () = redis::cmd("CONFIG")
            .arg("SET")
            .arg("loglevel")
            .arg(level)
            .query(&mut con)
            .unwrap();
        // The logger follows the configuration within 200 ms.
        std::thread::sleep(Duration::from_millis(700));
        let _: () = redis::cmd("SET").arg(key).arg(1).query(&mut con).unwrap();
        let _: () = redis::cmd("SAVE").query(&mut con).unwrap();
    };
    save_with_level("notice", "a");
    save_with_level("warning", "b"); // "snapshot done" is a notice: not logged
    save_with_level("notice", "c");
    let deadline = Instant::now() + Duration::from_secs(10);
    let done = loop {
        let n = std::fs::read_to_string(&log)
            .unwrap()
            .matches("snapshot done")
            .count();
        if n >= 2 || Instant::now() > deadline {
            break n;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    std::thread::sleep(Duration::from_millis(200));
    let all = std::fs::read_to_string(&log).unwrap();
    assert_eq!(done, 2, "{all}");
    assert_eq!(all.matches("snapshot done").count(), 2, "{all}");
}

#[test]
fn an_optional_bind_address_that_cannot_be_bound_is_skipped() {
    // 192.0.2.1 (TEST-NET-1) is on no interface: binding it fails with EADDRNOTAVAIL.
    let tmp = tempfile::tempdir().unwrap();
    let p = start(
        None,
        &tmp.path().join("data"),
        &["--bind", "127.0.0.1 -192.0.2.1"],
        &[],
    );
    assert!(ping_ok(p.port));
    drop(p);
    let out = Command::new(env!("CARGO_BIN_EXE_vaylix"))
        .args([
            "--port",
            &free_port().to_string(),
            "--bind",
            "127.0.0.1 192.0.2.1",
        ])
        .arg("--data-dir")
        .arg(tmp.path().join("data2"))
        .env_remove("VAYLIX_MASTER_KEY")
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(1),
        "a required address must be bound"
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("cannot listen on 192.0.2.1"));
}
