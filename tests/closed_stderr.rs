//! A closed log pipe (`vaylix 2>&1 | head -c 1`, a `tee` stopped by Ctrl-C) must not hurt the
//! server: it keeps serving, obeys SIGTERM/SIGINT with exit 0 and a shutdown snapshot, and keeps
//! taking scheduled snapshots and BGSAVEs. Before the fix the first failed log write panicked
//! the task that logged (or `main`, at start-up).

mod common;

use common::{free_port, Server};
use std::io::Read;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

extern "C" {
    fn kill(pid: i32, sig: i32) -> i32;
}

/// A field of `INFO persistence`.
fn persistence(con: &mut redis::Connection, field: &str) -> u64 {
    let info: String = redis::cmd("INFO").arg("persistence").query(con).unwrap();
    info.lines()
        .find_map(|l| l.strip_prefix(&format!("{field}:")))
        .unwrap_or_else(|| panic!("no {field} in INFO: {info}"))
        .trim()
        .parse()
        .unwrap()
}

/// Waits (bounded) until the newest snapshot covers every write.
fn wait_snapshot_covers_all(con: &mut redis::Connection, what: &str) {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let last = persistence(con, "wal_last_seq");
        if persistence(con, "snapshot_last_seq") >= last {
            return;
        }
        assert!(Instant::now() < deadline, "no {what} within 20 s");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Sends `sig` and waits (bounded) for the exit status.
fn stop_with(child: &mut Child, sig: i32) -> std::process::ExitStatus {
    unsafe { kill(child.id() as i32, sig) };
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Ok(Some(st)) = child.try_wait() {
            return st;
        }
        if Instant::now() > deadline {
            child.kill().ok();
            panic!("vaylix ignored signal {sig} for 30 s with its stderr closed");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// After a clean stop, a restart finds a snapshot of everything (the shutdown snapshot).
fn assert_shutdown_snapshot(dir: &std::path::Path) {
    let srv = Server::start_in(dir, &[]);
    let mut con = srv.client();
    let last = persistence(&mut con, "wal_last_seq");
    assert!(last > 0);
    assert_eq!(
        persistence(&mut con, "snapshot_last_seq"),
        last,
        "the shutdown snapshot covers every write"
    );
}

#[test]
fn server_closed_stderr_pipe_keeps_signals_bgsave_and_shutdown_snapshot() {
    let mut srv = Server::start(&["--snapshot-interval", "0"]);
    // `| head -c 1`: the reader takes a byte and goes away; every later log write gets EPIPE.
    let mut err = srv.child.as_mut().unwrap().stderr.take().unwrap();
    let mut one = [0u8; 1];
    err.read_exact(&mut one).unwrap();
    drop(err);

    let mut con = srv.client();
    for i in 0..20 {
        // Each command is a chance to log; the server must go on answering.
        let _: () = redis::cmd("SET")
            .arg(format!("k{i}"))
            .arg(i)
            .query(&mut con)
            .unwrap();
    }
    let pong: String = redis::cmd("PING").query(&mut con).unwrap();
    assert_eq!(pong, "PONG");
    let _: String = redis::cmd("BGSAVE").query(&mut con).unwrap();
    wait_snapshot_covers_all(&mut con, "BGSAVE snapshot");
    let _: () = redis::cmd("SET")
        .arg("after")
        .arg(1)
        .query(&mut con)
        .unwrap();
    drop(con);

    let mut child = srv.child.take().unwrap();
    let st = stop_with(&mut child, 15);
    assert_eq!(st.code(), Some(0), "SIGTERM stops it cleanly: {st}");
    assert_shutdown_snapshot(&srv.dir);
}

#[test]
fn server_stderr_closed_before_start_serves_snapshots_and_obeys_sigint() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("data");
    let port = free_port();
    let mut child = Command::new(env!("CARGO_BIN_EXE_vaylix"))
        .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
        .args(["--snapshot-interval", "1", "--data-dir"])
        .arg(&dir)
        .env_remove("VAYLIX_MASTER_KEY")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // `| head -c 0`: the pipe is closed before the server wrote its first line.
    drop(child.stderr.take());

    let deadline = Instant::now() + Duration::from_secs(20);
    let mut con = loop {
        if let Some(st) = child.try_wait().unwrap() {
            panic!("vaylix died at start with its stderr closed: {st}");
        }
        let c = redis::Client::open(format!("redis://127.0.0.1:{port}/")).unwrap();
        if let Ok(mut con) = c.get_connection() {
            if redis::cmd("PING").query::<String>(&mut con).is_ok() {
                break con;
            }
        }
        assert!(
            Instant::now() < deadline,
            "vaylix did not serve within 20 s"
        );
        std::thread::sleep(Duration::from_millis(25));
    };
    let _: () = redis::cmd("SET").arg("a").arg(1).query(&mut con).unwrap();
    // The scheduler (snapshot-interval 1) logs each snapshot: it must survive the failed write.
    wait_snapshot_covers_all(&mut con, "scheduled snapshot");
    let _: () = redis::cmd("SET").arg("b").arg(2).query(&mut con).unwrap();
    wait_snapshot_covers_all(&mut con, "second scheduled snapshot");
    let _: () = redis::cmd("SET").arg("c").arg(3).query(&mut con).unwrap();
    drop(con);

    let st = stop_with(&mut child, 2);
    assert_eq!(st.code(), Some(0), "SIGINT stops it cleanly: {st}");
    assert_shutdown_snapshot(&dir);
}
