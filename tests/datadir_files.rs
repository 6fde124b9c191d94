//! What the server creates in and around its data dir (issue 11, items 5 and 6): file modes
//! regardless of umask, the warning for an open data dir, and no master key generated into a
//! populated dir.

mod common;

use common::Server;
use std::io::Read;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

extern "C" {
    fn umask(mask: u32) -> u32;
}

/// The usual umask, which left files 0644 and dirs 0755 before (children inherit it).
fn umask_022() {
    // SAFETY: umask only sets the process's file-mode creation mask.
    unsafe { umask(0o022) };
}

/// Every directory and file under `dir` (and `dir`), with its permission bits.
fn modes(dir: &Path) -> Vec<(PathBuf, bool, u32)> {
    let mut out = vec![(
        dir.to_path_buf(),
        true,
        std::fs::metadata(dir).unwrap().permissions().mode() & 0o777,
    )];
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let e = e.unwrap();
            let md = e.metadata().unwrap();
            out.push((e.path(), md.is_dir(), md.permissions().mode() & 0o777));
            if md.is_dir() {
                stack.push(e.path());
            }
        }
    }
    out
}

/// Starts `vaylix` on `dir` expecting it to fail at start-up: (exit code, stderr).
fn start_fails(dir: &Path) -> (i32, String) {
    let port = common::free_port().to_string();
    let mut child = Command::new(env!("CARGO_BIN_EXE_vaylix"))
        .args(["--port", &port, "--bind", "127.0.0.1", "--data-dir"])
        .arg(dir)
        .env_remove("VAYLIX_MASTER_KEY")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let what = format!("vaylix kept running on {}", dir.display());
    let status = common::wait_exit(&mut child, Duration::from_secs(20), &what);
    let mut err = String::new();
    child.stderr.take().unwrap().read_to_string(&mut err).ok();
    (status.code().unwrap_or(-1), err)
}

#[test]
fn every_file_is_0600_and_every_dir_0700_under_umask_022() {
    umask_022();
    let mut s = Server::start(&["--wal-segment-size", "4096"]);
    let mut c = s.client();
    for i in 0..200 {
        let _: () = redis::cmd("SET")
            .arg(format!("k{i}"))
            .arg("x".repeat(64))
            .query(&mut c)
            .unwrap();
    }
    let _: () = redis::cmd("SAVE").query(&mut c).unwrap();
    let _: redis::Value = redis::cmd("BACKUP")
        .arg("TO")
        .arg("a.json")
        .query(&mut c)
        .unwrap();
    let _: () = redis::cmd("SET")
        .arg("after")
        .arg("1")
        .query(&mut c)
        .unwrap();
    drop(c);
    assert!(s.terminate().success());
    let all = modes(&s.dir);
    let names: Vec<String> = all
        .iter()
        .map(|(p, _, _)| p.strip_prefix(&s.dir).unwrap().display().to_string())
        .collect();
    for want in [
        "LOCK",
        "keyring",
        "manifest",
        "master.key",
        "backups/a.json",
        "wal",
        "snapshots",
    ] {
        assert!(names.iter().any(|n| n == want), "{want} missing: {names:?}");
    }
    assert!(names.iter().any(|n| n.ends_with(".snap")), "{names:?}");
    assert!(
        names.iter().filter(|n| n.ends_with(".wal")).count() > 1,
        "{names:?}"
    );
    for (p, is_dir, mode) in &all {
        let want = if *is_dir { 0o700 } else { 0o600 };
        assert_eq!(*mode, want, "{} has mode {mode:04o}", p.display());
    }
}

#[test]
fn a_group_or_world_readable_data_dir_is_warned_about_at_start() {
    umask_022();
    let mut s = Server::start(&[]);
    let mut err = s.child.as_mut().unwrap().stderr.take().unwrap();
    assert!(s.terminate().success());
    let mut log = String::new();
    err.read_to_string(&mut log).unwrap();
    assert!(
        !log.contains("accessible to its group"),
        "a 0700 dir: {log}"
    );

    std::fs::set_permissions(&s.dir, std::fs::Permissions::from_mode(0o755)).unwrap();
    s.spawn();
    let mut err = s.child.as_mut().unwrap().stderr.take().unwrap();
    assert!(s.terminate().success());
    let mut log = String::new();
    err.read_to_string(&mut log).unwrap();
    assert!(
        log.contains("accessible to its group or to other users (mode 0755)"),
        "{log}"
    );
}

#[test]
fn missing_master_key_in_a_populated_dir_refuses_start_and_writes_no_key() {
    let mut s = Server::start(&[]);
    let mut c = s.client();
    let _: () = redis::cmd("SET").arg("k").arg("v").query(&mut c).unwrap();
    drop(c);
    assert!(s.terminate().success());
    let key = s.dir.join("master.key");
    let original = std::fs::read(&key).unwrap();
    std::fs::remove_file(&key).unwrap();
    let before = modes(&s.dir);

    let (code, err) = start_fails(&s.dir);
    assert_ne!(code, 0);
    assert!(err.contains("the master key is missing"), "{err}");
    assert!(
        err.contains(&key.display().to_string()),
        "names where: {err}"
    );
    assert!(!key.exists(), "no new key was written");
    assert_eq!(modes(&s.dir), before, "no file was written");

    // Putting the right key back is all it takes.
    std::fs::write(&key, original).unwrap();
    let s2 = Server::start_in(&s.dir, &[]);
    let mut c = s2.client();
    let v: Option<String> = redis::cmd("GET").arg("k").query(&mut c).unwrap();
    assert_eq!(v.as_deref(), Some("v"));
}
