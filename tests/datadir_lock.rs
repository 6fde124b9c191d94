//! One writer per data dir: the `LOCK` file (issue 11, item 1).
//!
//! A second server on a running server's data dir is refused and names the holder's PID; the
//! first keeps serving and its acknowledged writes survive kill -9; the kernel releases the lock
//! of a killed server so the next start works; read-only tools say a server is running; writing
//! tools are refused.

mod common;

use common::{p, Server};
use std::io::Read;
use std::process::{Command, Stdio};
use std::time::Duration;

/// Runs `vaylix <args>` to completion (bounded): (exit code, stdout, stderr).
fn vaylix(args: &[&str]) -> (i32, String, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_vaylix"))
        .args(args)
        .env_remove("VAYLIX_MASTER_KEY")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run vaylix");
    let status = common::wait_exit(
        &mut child,
        Duration::from_secs(30),
        &format!("vaylix {args:?}"),
    );
    let (mut out, mut err) = (String::new(), String::new());
    child.stdout.take().unwrap().read_to_string(&mut out).ok();
    child.stderr.take().unwrap().read_to_string(&mut err).ok();
    (status.code().unwrap_or(-1), out, err)
}

#[test]
fn second_server_on_same_data_dir_is_refused_and_the_first_keeps_its_writes() {
    let mut a = Server::start(&[]);
    let pid_a = a.child.as_ref().unwrap().id();
    let mut c = a.client();
    let _: () = redis::cmd("SET")
        .arg("before")
        .arg("1")
        .query(&mut c)
        .unwrap();

    let port = common::free_port().to_string();
    let (code, _, err) = vaylix(&[
        "--port",
        &port,
        "--bind",
        "127.0.0.1",
        "--data-dir",
        p(&a.dir),
    ]);
    assert_ne!(code, 0, "the second server must not start: {err}");
    assert!(
        err.contains(&format!("PID {pid_a}")),
        "names the holder: {err}"
    );
    assert!(err.contains("LOCK"), "{err}");

    // The first still serves; a write acknowledged after the refused start survives kill -9.
    let _: () = redis::cmd("SET")
        .arg("acked_by_A")
        .arg("1")
        .query(&mut c)
        .unwrap();
    drop(c);
    a.kill9();
    // The kernel released the killed server's lock: a new server starts on the dir.
    let b = Server::start_in(&a.dir, &[]);
    let mut c = b.client();
    let v: Option<String> = redis::cmd("GET").arg("acked_by_A").query(&mut c).unwrap();
    assert_eq!(v.as_deref(), Some("1"));
    let v: Option<String> = redis::cmd("GET").arg("before").query(&mut c).unwrap();
    assert_eq!(v.as_deref(), Some("1"));
    let lock = std::fs::read_to_string(a.dir.join("LOCK")).unwrap();
    assert_eq!(lock.trim(), b.child.as_ref().unwrap().id().to_string());
}

#[test]
fn read_only_tools_say_a_server_is_running_and_writing_tools_are_refused() {
    let s = Server::start(&[]);
    let pid = s.child.as_ref().unwrap().id();
    let mut c = s.client();
    let _: () = redis::cmd("SET").arg("k").arg("v").query(&mut c).unwrap();

    let (code, out, err) = vaylix(&["storage", "verify", "--data-dir", p(&s.dir), "--json"]);
    assert_eq!(code, 0, "{out}\n{err}");
    assert!(err.contains(&format!("PID {pid}")), "{err}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["server_running"], true, "{v}");
    assert_eq!(v["server_pid"], pid, "{v}");

    let (code, out, err) = vaylix(&["pitr", "inspect", "--data-dir", p(&s.dir), "--json"]);
    assert_eq!(code, 0, "{out}\n{err}");
    assert!(err.contains(&format!("PID {pid}")), "{err}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["server_pid"], pid, "{v}");

    let (code, _, err) = vaylix(&["storage", "migrate", "--data-dir", p(&s.dir)]);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains(&format!("PID {pid}")), "{err}");

    // The probes took nothing: the server still serves writes.
    let _: () = redis::cmd("SET").arg("k2").arg("v").query(&mut c).unwrap();
    drop(c);
    drop(s);
}

#[test]
fn read_only_tools_report_no_server_on_a_stopped_dir() {
    let mut s = Server::start(&[]);
    let mut c = s.client();
    let _: () = redis::cmd("SET").arg("k").arg("v").query(&mut c).unwrap();
    drop(c);
    s.terminate();
    let (code, out, err) = vaylix(&["storage", "verify", "--data-dir", p(&s.dir), "--json"]);
    assert_eq!(code, 0, "{out}\n{err}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["server_running"], false, "{v}");
    assert!(!err.contains("running"), "{err}");
}
