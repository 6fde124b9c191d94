//! The version clock's bound (issue 11, docs/storage-format.md section 10): dumps whose versions
//! would leave the clock no room are refused and change nothing; a dump at exactly the bound
//! restores, and VERSION / SET ... IF VERSION stay exact there, across kill -9.

mod common;

use common::{err_text, int, version, Fields, Server};
use redis::{Commands, RedisResult};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// 2^62: the largest version a dump may carry.
const BOUND: u64 = 1 << 62;

fn set_if(c: &mut redis::Connection, key: &str, val: &str, v: &str) -> RedisResult<Option<String>> {
    redis::cmd("SET")
        .arg(key)
        .arg(val)
        .arg("IF")
        .arg("VERSION")
        .arg(v)
        .query(c)
}

/// A v2 dump: `a` at version `v`, `b` at version 5.
fn dump(v: u64) -> String {
    format!(
        r#"{{"version":2,"created_at_ms":1,"source_engine_version":"test","source_sequence":{v},"entries":[
{{"key":"a","type":"string","value_base64":"cmVzdG9yZWQ=","version":{v},"expires_at_ms":null}},
{{"key":"b","type":"string","value_base64":"Yg==","version":5,"expires_at_ms":null}}
]}}"#
    )
}

/// Writes `text` and its sidecar into `dir` as `name`.
fn put_file(dir: &Path, name: &str, text: &str) {
    std::fs::create_dir_all(dir).unwrap();
    std::fs::write(dir.join(name), text).unwrap();
    let (len, sha) = vaylix::backup::format::digest(text.as_bytes());
    let side = serde_json::json!({
        "manifest_version": 1, "backup_version": 2, "created_at_ms": 1,
        "source_engine_version": "test", "source_sequence": 0, "entry_count": 2,
        "byte_len": len, "hash_algorithm": "sha256", "sha256": sha,
    });
    std::fs::write(dir.join(format!("{name}.manifest.json")), side.to_string()).unwrap();
}

/// The storage files of a data dir (manifest, keyring, master.key, snapshots/, wal/) with their
/// bytes. Other files (backups/, a lock file) are not the state a restore or a reader may change.
fn tree(dir: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    let mut out = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let e = e.unwrap();
            let name = e.file_name();
            let storage = ["manifest", "keyring", "master.key", "snapshots", "wal"];
            if d == dir && !storage.iter().any(|s| name == *s) {
                continue;
            }
            if e.metadata().unwrap().is_dir() {
                stack.push(e.path());
            } else {
                out.insert(e.path(), std::fs::read(e.path()).unwrap());
            }
        }
    }
    out
}

#[test]
fn restore_above_the_version_bound_is_refused_and_changes_nothing() {
    let mut srv = Server::start(&[]);
    let mut c = srv.client();
    for i in 0..20 {
        let _: () = c.set(format!("k{i}"), i).unwrap();
    }
    let _: () = redis::cmd("SAVE").query(&mut c).unwrap();
    let before: Vec<(String, Option<u64>)> = (0..20)
        .map(|i| format!("k{i}"))
        .map(|k| (k.clone(), version(&mut c, &k)))
        .collect();
    let files = tree(&srv.dir);
    // Just above the bound, just above i64::MAX, the issue's values, and u64::MAX.
    let refused = [
        BOUND + 1,
        i64::MAX as u64 + 1,
        18446744073709551612,
        18446744073709551614,
        u64::MAX,
    ];
    for (i, v) in refused.iter().enumerate() {
        let text = dump(*v);
        let e = err_text(redis::cmd("RESTORE").arg(&text).query::<Fields>(&mut c));
        assert!(
            e.contains(&format!(
                "entry 0: version {v} is above 4611686018427387904"
            )),
            "RESTORE with version {v}: {e}"
        );
        let e = err_text(
            redis::cmd("RESTORE")
                .arg("CHECK")
                .arg(&text)
                .query::<Fields>(&mut c),
        );
        assert!(e.contains("is above 4611686018427387904"), "{e}");
        let name = format!("over-{i}.json");
        put_file(&srv.dir.join("backups"), &name, &text);
        let e = err_text(
            redis::cmd("RESTORE")
                .arg("FROM")
                .arg(&name)
                .query::<Fields>(&mut c),
        );
        assert!(
            e.contains("is above 4611686018427387904"),
            "RESTORE FROM {v}: {e}"
        );
    }
    assert_eq!(
        tree(&srv.dir),
        files,
        "a refused restore leaves the data dir byte for byte"
    );
    let after: Vec<(String, Option<u64>)> = (0..20)
        .map(|i| format!("k{i}"))
        .map(|k| (k.clone(), version(&mut c, &k)))
        .collect();
    assert_eq!(after, before);
    assert_eq!(c.get::<_, Option<String>>("a").unwrap(), None);
    // Later writes continue the clock where it was.
    let _: () = c.set("next", "1").unwrap();
    let next = version(&mut c, "next").unwrap();
    assert_eq!(next, before.iter().filter_map(|b| b.1).max().unwrap() + 1);

    srv.kill9();
    let srv = Server::start_in(&srv.dir.clone(), &[]);
    let mut c = srv.client();
    for (k, v) in &before {
        assert_eq!(version(&mut c, k), *v, "{k} after kill -9");
    }
    assert_eq!(version(&mut c, "next"), Some(next));
    let _: () = c.set("later", "1").unwrap();
    assert_eq!(version(&mut c, "later"), Some(next + 1));
}

#[test]
fn restore_at_the_bound_is_accepted_and_version_and_if_version_are_exact() {
    let mut srv = Server::start(&[]);
    let mut c = srv.client();
    let _: () = c.set("old", "1").unwrap();
    let r: Fields = redis::cmd("RESTORE")
        .arg(dump(BOUND))
        .query(&mut c)
        .unwrap();
    assert_eq!(int(&r, "restored"), 2);
    assert_eq!(int(&r, "sequence") as u64, BOUND + 1);
    assert_eq!(version(&mut c, "a"), Some(BOUND));
    assert_eq!(version(&mut c, "b"), Some(5));
    // IF VERSION compares exactly at the bound: one less or one more does not match.
    for miss in [BOUND - 1, BOUND + 1, i64::MAX as u64] {
        assert_eq!(
            set_if(&mut c, "a", "no", &miss.to_string()).unwrap(),
            None,
            "{miss}"
        );
    }
    assert_eq!(
        set_if(&mut c, "a", "cas", &BOUND.to_string())
            .unwrap()
            .as_deref(),
        Some("OK")
    );
    assert_eq!(c.get::<_, String>("a").unwrap(), "cas");
    assert_eq!(version(&mut c, "a"), Some(BOUND + 2));
    let _: () = c.set("c", "1").unwrap();
    assert_eq!(version(&mut c, "c"), Some(BOUND + 3));
    // Beyond RESP's integer range IF VERSION is not an integer, as before.
    let e = err_text(set_if(&mut c, "a", "x", "9223372036854775808"));
    assert!(e.contains("not an integer"), "{e}");

    srv.kill9();
    let mut srv = Server::start_in(&srv.dir.clone(), &[]);
    let mut c = srv.client();
    assert_eq!(c.get::<_, String>("a").unwrap(), "cas");
    assert_eq!(version(&mut c, "a"), Some(BOUND + 2));
    assert_eq!(version(&mut c, "c"), Some(BOUND + 3));
    assert_eq!(c.get::<_, Option<String>>("old").unwrap(), None);
    assert_eq!(
        set_if(&mut c, "c", "2", &(BOUND + 3).to_string())
            .unwrap()
            .as_deref(),
        Some("OK")
    );
    assert_eq!(version(&mut c, "c"), Some(BOUND + 4));
    srv.kill9();
    let srv = Server::start_in(&srv.dir.clone(), &[]);
    let mut c = srv.client();
    assert_eq!(version(&mut c, "c"), Some(BOUND + 4));
}

/// Copies the fixture data dir written by a build whose clock wrapped (see
/// tests/fixtures/datadir/README.md) into a temp dir.
fn overflowed_dir(tmp: &Path) -> PathBuf {
    common::fixture_dir(tmp, "clock-overflow")
}

/// Runs `vaylix <args>` (bounded: killed after 30 s); returns (exit code, stdout + stderr).
fn run(args: &[&str]) -> (i32, String) {
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_vaylix"))
        .args(args)
        .env_remove("VAYLIX_MASTER_KEY")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    common::wait_exit(
        &mut child,
        std::time::Duration::from_secs(30),
        &format!("vaylix {args:?}"),
    );
    let out = child.wait_with_output().unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.code().unwrap_or(-1), text)
}

#[test]
fn every_reader_refuses_a_data_dir_whose_clock_passed_the_bound() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = overflowed_dir(tmp.path());
    let d = dir.to_str().unwrap();
    let files = tree(&dir);
    let bound = "is above 9223372036854775807, the largest the version clock allows";
    let port = common::free_port().to_string();
    let (code, out) = run(&["--port", &port, "--bind", "127.0.0.1", "--data-dir", d]);
    assert_ne!(code, 0, "{out}");
    assert!(out.contains(bound), "server start: {out}");
    let (code, out) = run(&["storage", "verify", "--data-dir", d]);
    assert_ne!(code, 0, "{out}");
    assert!(out.contains(bound), "storage verify: {out}");
    let (code, out) = run(&["pitr", "inspect", "--data-dir", d]);
    assert_ne!(code, 0, "{out}");
    assert!(out.contains(bound), "pitr inspect: {out}");
    let target = tmp.path().join("pitr-target");
    let t = target.to_str().unwrap();
    for to in ["1", "18446744073709551613"] {
        let (code, out) = run(&[
            "pitr",
            "restore",
            "--source-dir",
            d,
            "--target-dir",
            t,
            "--to-sequence",
            to,
        ]);
        assert_ne!(code, 0, "{out}");
        assert!(
            out.contains(bound),
            "pitr restore --to-sequence {to}: {out}"
        );
        assert!(!target.join("manifest").exists(), "nothing restored");
    }
    let (code, out) = run(&["storage", "migrate", "--data-dir", d]);
    assert_ne!(code, 0, "{out}");
    assert!(out.contains(bound), "storage migrate: {out}");
    assert_eq!(tree(&dir), files, "no reader changed the data dir");
}

#[test]
fn at_the_write_limit_writes_are_refused_cleanly_and_reads_still_work() {
    const LIMIT: u64 = 9_223_372_032_559_808_511; // 2^63 - 1 - 2^32
    let tmp = tempfile::tempdir().unwrap();
    let dir = common::fixture_dir(tmp.path(), "clock-at-write-limit");
    let mut srv = Server::start_in(&dir, &[]);
    let mut c = srv.client();
    assert_eq!(c.get::<_, String>("near").unwrap(), "x");
    assert_eq!(
        version(&mut c, "near"),
        Some(LIMIT - 1),
        "VERSION is exact up here"
    );
    let files = tree(&dir);
    let e = err_text(c.set::<_, _, ()>("k", "v"));
    assert!(e.contains("version clock is exhausted"), "{e}");
    let e = err_text(set_if(&mut c, "near", "y", &(LIMIT - 1).to_string()));
    assert!(e.contains("version clock is exhausted"), "{e}");
    let e = err_text(redis::cmd("DEL").arg("near").query::<i64>(&mut c));
    assert!(e.contains("version clock is exhausted"), "{e}");
    let e = err_text(redis::cmd("RESTORE").arg(dump(5)).query::<Fields>(&mut c));
    assert!(e.contains("version clock is exhausted"), "{e}");
    // Inside MULTI the write is refused at EXEC, the read still answers.
    // Raw, so the error element stays an element (the redis crate turns it into an Err).
    let mut raw = srv.raw();
    raw.send(b"MULTI\r\nSET k v\r\nGET near\r\nEXEC\r\n");
    let lines: Vec<String> = (0..6).map(|_| raw.line()).collect();
    assert_eq!(
        lines[..3],
        ["+OK\r\n", "+QUEUED\r\n", "+QUEUED\r\n"],
        "{lines:?}"
    );
    assert_eq!(lines[3], "*2\r\n", "{lines:?}");
    assert!(
        lines[4].starts_with("-ERR the version clock is exhausted"),
        "{lines:?}"
    );
    assert_eq!(lines[5], "$1\r\n", "{lines:?}");
    assert_eq!(raw.line(), "x\r\n");
    // Nothing changed, in memory or on disk, and a restart after kill -9 serves the same.
    assert_eq!(c.get::<_, Option<String>>("k").unwrap(), None);
    assert_eq!(version(&mut c, "near"), Some(LIMIT - 1));
    assert_eq!(tree(&dir), files);
    srv.kill9();
    let srv = Server::start_in(&dir, &[]);
    let mut c = srv.client();
    assert_eq!(c.get::<_, String>("near").unwrap(), "x");
    assert_eq!(version(&mut c, "near"), Some(LIMIT - 1));
    let e = err_text(c.set::<_, _, ()>("k", "v"));
    assert!(e.contains("version clock is exhausted"), "{e}");
}
