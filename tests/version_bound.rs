//! The version clock's bound (issue 11, docs/storage-format.md section 10): dumps whose versions
//! would leave the clock no room are refused and change nothing; a dump at exactly the bound
//! restores, and VERSION / SET ... IF VERSION stay exact there, across kill -9.

mod common;

use common::Server;
use redis::{Commands, RedisResult};
use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

type Fields = HashMap<String, redis::Value>;

/// 2^62: the largest version a dump may carry.
const BOUND: u64 = 1 << 62;

fn err_text<T: std::fmt::Debug>(r: RedisResult<T>) -> String {
    let e = r.expect_err("expected an error reply");
    format!("{} {}", e.code().unwrap_or(""), e.detail().unwrap_or(""))
}

fn int(f: &Fields, k: &str) -> i64 {
    redis::from_redis_value(
        f.get(k)
            .unwrap_or_else(|| panic!("no {k} in {f:?}"))
            .clone(),
    )
    .unwrap()
}

fn version(c: &mut redis::Connection, key: &str) -> Option<u64> {
    redis::cmd("VERSION").arg(key).query(c).unwrap()
}

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

/// Every file under `dir` (but backups/) with its bytes.
fn tree(dir: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    let mut out = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let e = e.unwrap();
            if e.file_name() == "backups" {
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
