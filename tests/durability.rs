//! Durability of the real binary: restarts, kill -9, encryption at rest, corruption, keys.

mod common;

use common::Server;
use redis::Commands;
use std::path::{Path, PathBuf};
use std::process::Command;

fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            out.extend(files_under(&p));
        } else {
            out.push(p);
        }
    }
    out.sort();
    out
}

/// key -> (value, pttl>0, version)
fn state(c: &mut redis::Connection) -> Vec<(String, String, bool, u64)> {
    let mut keys: Vec<String> = c.keys("*").unwrap();
    keys.sort();
    keys.into_iter()
        .map(|k| {
            let v: String = c.get(&k).unwrap();
            let ttl: i64 = c.pttl(&k).unwrap();
            let ver: u64 = redis::cmd("VERSION").arg(&k).query(c).unwrap();
            (k, v, ttl > 0, ver)
        })
        .collect()
}

fn write_some(c: &mut redis::Connection) {
    for i in 0..200 {
        let _: () = c.set(format!("k{i}"), format!("value-{i}")).unwrap();
    }
    let _: () = c.incr("counter", 41).unwrap();
    let _: () = c.incr("counter", 1).unwrap();
    let _: () = c.append("log", "a").unwrap();
    let _: () = c.append("log", "b").unwrap();
    let _: () = redis::cmd("SET")
        .arg("ttl")
        .arg("x")
        .arg("EX")
        .arg(1000)
        .query(c)
        .unwrap();
    let _: () = c.del("k7").unwrap();
    let _: () = redis::cmd("INCRBYFLOAT")
        .arg("f")
        .arg("0.1")
        .query(c)
        .unwrap();
    let _: () = redis::cmd("INCRBYFLOAT")
        .arg("f")
        .arg("0.2")
        .query(c)
        .unwrap();
}

#[test]
fn kill9_then_restart_twice_preserves_keys_values_ttls_and_versions() {
    let mut srv = Server::start(&[]);
    let mut c = srv.client();
    write_some(&mut c);
    let before = state(&mut c);
    assert_eq!(c.get::<_, String>("f").unwrap(), "0.3");
    srv.kill9();
    for round in 0..2 {
        srv.spawn();
        let mut c = srv.client();
        assert_eq!(state(&mut c), before, "after restart {round}");
        srv.kill9();
    }
}

#[test]
fn restart_after_a_snapshot_replays_only_newer_entries() {
    let mut srv = Server::start(&[]);
    let mut c = srv.client();
    write_some(&mut c);
    let _: () = redis::cmd("SAVE").query(&mut c).unwrap();
    let _: () = c.set("after", "snap").unwrap();
    let _: () = c.incr("counter", 8).unwrap();
    let before = state(&mut c);
    srv.kill9();
    srv.spawn();
    let mut c = srv.client();
    assert_eq!(state(&mut c), before);
    assert_eq!(
        c.get::<_, i64>("counter").unwrap(),
        50,
        "INCR applied exactly once"
    );
    // A new write after recovery gets a version above everything recovered.
    let max = before.iter().map(|r| r.3).max().unwrap();
    let _: () = c.set("new", "1").unwrap();
    let v: u64 = redis::cmd("VERSION").arg("new").query(&mut c).unwrap();
    assert!(v > max);
}

#[test]
fn sigterm_exits_zero_after_a_final_snapshot() {
    let mut srv = Server::start(&[]);
    let mut c = srv.client();
    write_some(&mut c);
    let before = state(&mut c);
    drop(c);
    let status = srv.terminate();
    assert!(status.success(), "{status}");
    assert!(files_under(&srv.dir.join("snapshots"))
        .iter()
        .any(|p| p.extension().is_some_and(|e| e == "snap")));
    srv.spawn();
    let mut c = srv.client();
    assert_eq!(state(&mut c), before);
}

#[test]
fn no_plaintext_at_rest() {
    let mut srv = Server::start(&[]);
    let mut c = srv.client();
    let key = "distinctive-key-zq8x";
    let value = "distinctive-value-wp3k";
    let _: () = c.set(key, value).unwrap();
    let _: () = c.set("second-distinctive-key", value).unwrap();
    let _: () = redis::cmd("SAVE").query(&mut c).unwrap();
    let _: () = c.set("after-snapshot-zq8x", value).unwrap();
    srv.kill9();
    let files = files_under(&srv.dir);
    assert!(files.len() >= 4, "{files:?}");
    for f in files {
        let bytes = std::fs::read(&f).unwrap();
        for needle in [key, value, "zq8x", "wp3k"] {
            assert!(
                !bytes.windows(needle.len()).any(|w| w == needle.as_bytes()),
                "{needle} in {}",
                f.display()
            );
        }
    }
}

fn start_fails(dir: &Path, extra: &[&str]) -> String {
    let mut child = Command::new(env!("CARGO_BIN_EXE_vaylix"))
        .args(["--port", &common::free_port().to_string(), "--data-dir"])
        .arg(dir)
        .args(extra)
        .env_remove("VAYLIX_MASTER_KEY")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            let mut err = String::new();
            std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut err).unwrap();
            assert!(!status.success(), "start-up must refuse: {err}");
            return err;
        }
        if std::time::Instant::now() > deadline {
            child.kill().ok();
            child.wait().ok();
            panic!(
                "start-up did not refuse within 20 s (it is serving) for {}",
                dir.display()
            );
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}

/// A data dir with a sealed segment, a snapshot, and a complete frame in the active segment.
fn populated_dir() -> (tempfile::TempDir, PathBuf) {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("data");
    let mut srv = Server::start_in(&dir, &[]);
    let mut c = srv.client();
    for i in 0..20 {
        let _: () = c.set(format!("a{i}"), "x").unwrap();
    }
    let _: () = redis::cmd("SAVE").query(&mut c).unwrap();
    for i in 0..20 {
        let _: () = c.set(format!("b{i}"), "y").unwrap();
    }
    let _: () = redis::cmd("SAVE").query(&mut c).unwrap();
    let _: () = c.set("active", "z").unwrap();
    srv.kill9();
    (tmp, dir)
}

fn flip(path: &Path, offset: usize) {
    let mut bytes = std::fs::read(path).unwrap();
    bytes[offset] ^= 0x55;
    std::fs::write(path, bytes).unwrap();
}

#[test]
fn flipping_a_byte_of_any_file_kind_refuses_start_naming_the_file() {
    let (_t, dir) = populated_dir();
    let all = files_under(&dir);
    let pick = |pred: &dyn Fn(&str) -> bool| -> PathBuf {
        all.iter()
            .find(|p| pred(&p.strip_prefix(&dir).unwrap().display().to_string()))
            .cloned()
            .unwrap_or_else(|| panic!("{all:?}"))
    };
    let sealed = pick(&|n| n.starts_with("wal/") && !n.contains("active"));
    let active = pick(&|n| n.starts_with("wal/active"));
    // The snapshot recovery starts from (the newest); older retained ones serve PITR and are
    // checked by `vaylix storage verify`.
    let snap = all
        .iter()
        .filter(|p| p.starts_with(dir.join("snapshots")))
        .max_by_key(|p| {
            p.file_stem()
                .and_then(|s| s.to_str())
                .and_then(|s| s.parse::<u64>().ok())
                .unwrap_or(0)
        })
        .cloned()
        .unwrap();
    let cases = [
        (sealed, "sealed"),
        (active, "active"),
        (snap, "snap"),
        (dir.join("manifest"), "manifest"),
        (dir.join("keyring"), "keyring"),
    ];
    for (file, label) in cases {
        let len = std::fs::metadata(&file).unwrap().len() as usize;
        // Past the header for segments (a complete frame), inside the body for the rest.
        for offset in [len / 2, len - 5] {
            let copy = tempfile::tempdir().unwrap();
            let d2 = copy.path().join("d");
            copy_dir(&dir, &d2);
            let target = d2.join(file.strip_prefix(&dir).unwrap());
            flip(&target, offset);
            eprintln!("flipping {label} at {offset}/{len}");
            let err = start_fails(&d2, &[]);
            let name = file.file_name().unwrap().to_string_lossy().to_string();
            assert!(
                err.contains(&name),
                "{label} at {offset}: error does not name {name}: {err}"
            );
        }
    }
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let dst = to.join(e.file_name());
        if e.path().is_dir() {
            copy_dir(&e.path(), &dst);
        } else {
            std::fs::copy(e.path(), &dst).unwrap();
        }
    }
}

#[test]
fn torn_tail_of_active_segment_is_cut_on_start_and_counted() {
    let (_t, dir) = populated_dir();
    let active = files_under(&dir)
        .into_iter()
        .find(|p| p.to_string_lossy().contains("active-"))
        .unwrap();
    let mut bytes = std::fs::read(&active).unwrap();
    // A frame header promising more bytes than follow: a crash mid-append.
    bytes.extend_from_slice(&[200, 0, 0, 0, 1, 0, 0, 0, 9, 9]);
    std::fs::write(&active, &bytes).unwrap();
    let mut fail_copy = tempfile::tempdir().unwrap().keep();
    fail_copy.push("d");
    copy_dir(&dir, &fail_copy);
    let err = start_fails(&fail_copy, &["--wal-truncated-tail", "fail"]);
    assert!(err.contains("active-"), "{err}");
    let srv = Server::start_in(&dir, &[]);
    let mut c = srv.client();
    assert_eq!(c.get::<_, String>("active").unwrap(), "z");
    let info: String = redis::cmd("INFO").arg("persistence").query(&mut c).unwrap();
    assert!(info.contains("wal_truncated_tails:1"), "{info}");
}

#[test]
fn wrong_master_key_fails_closed_and_right_one_opens() {
    let tmp = tempfile::tempdir().unwrap();
    let key_a = tmp.path().join("a.key");
    let key_b = tmp.path().join("b.key");
    std::fs::write(&key_a, "11".repeat(32)).unwrap();
    std::fs::write(&key_b, "22".repeat(32)).unwrap();
    let dir = tmp.path().join("data");
    let ka = key_a.to_str().unwrap();
    let mut srv = Server::start_in(&dir, &["--master-key-file", ka]);
    let _: () = srv.client().set("k", "v").unwrap();
    srv.kill9();
    assert!(
        !dir.join("master.key").exists(),
        "no embedded key when one is configured"
    );
    let err = start_fails(&dir, &["--master-key-file", key_b.to_str().unwrap()]);
    assert!(err.to_lowercase().contains("master key"), "{err}");
    let srv = Server::start_in(&dir, &["--master-key-file", ka]);
    assert_eq!(srv.client().get::<_, String>("k").unwrap(), "v");
}

#[test]
fn keyring_rotate_takes_effect_at_the_next_snapshot_and_old_data_stays_readable() {
    let mut srv = Server::start(&[]);
    let mut c = srv.client();
    let _: () = c.set("old", "1").unwrap();
    let _: () = redis::cmd("KEYRING").arg("ROTATE").query(&mut c).unwrap();
    let _: () = c.set("mid", "2").unwrap();
    let _: () = redis::cmd("SAVE").query(&mut c).unwrap();
    let _: () = c.set("new", "3").unwrap();
    let info: String = redis::cmd("INFO").arg("persistence").query(&mut c).unwrap();
    assert!(info.contains("storage_active_key_id:2"), "{info}");
    let status: redis::Value = redis::cmd("KEYRING").arg("STATUS").query(&mut c).unwrap();
    assert!(format!("{status:?}").contains("needed_by"));
    srv.kill9();
    srv.spawn();
    let mut c = srv.client();
    let vals: Vec<String> = c.mget(&["old", "mid", "new"]).unwrap();
    assert_eq!(vals, vec!["1", "2", "3"]);
}

#[test]
fn everysec_and_waitaof_report_local_fsync() {
    let srv = Server::start(&["--appendfsync", "everysec"]);
    let mut c = srv.client();
    let _: () = c.set("k", "v").unwrap();
    let r: Vec<i64> = redis::cmd("WAITAOF")
        .arg(1)
        .arg(0)
        .arg(2000)
        .query(&mut c)
        .unwrap();
    assert_eq!(r, vec![1, 0]);
    let _: () = redis::cmd("CONFIG")
        .arg("SET")
        .arg("appendfsync")
        .arg("no")
        .query(&mut c)
        .unwrap();
    let _: () = c.set("k2", "v").unwrap();
    let r: Vec<i64> = redis::cmd("WAITAOF")
        .arg(1)
        .arg(0)
        .arg(2000)
        .query(&mut c)
        .unwrap();
    assert_eq!(
        r,
        vec![1, 0],
        "WAITAOF forces the fsync under appendfsync no"
    );
    let info: String = redis::cmd("INFO").arg("persistence").query(&mut c).unwrap();
    assert!(info.contains("wal_sync_policy:no"), "{info}");
}
