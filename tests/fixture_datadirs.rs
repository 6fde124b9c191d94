//! On-disk compatibility: data dirs written by earlier builds (committed under
//! `tests/fixtures/datadir`) open with this build and read back exactly, and stay so across a
//! kill -9 and restart. A new fixture joins here at every change of the on-disk format.

mod common;

use base64::Engine as _;
use common::Server;
use serde_json::Value as Json;
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::path::Path;

/// (db, key) -> (value or its "len:sha256", version, pexpiretime)
type Contents = BTreeMap<(i64, Vec<u8>), (String, i64, i64)>;

fn b64(s: &Json) -> Vec<u8> {
    base64::engine::general_purpose::STANDARD
        .decode(s.as_str().expect("base64 string"))
        .expect("valid base64")
}

/// What a value is compared by: itself (as base64) when small, its length and SHA-256 when large.
fn shown(v: &[u8]) -> String {
    if v.len() > 1024 {
        let digest: String = Sha256::digest(v)
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        format!("{}:{digest}", v.len())
    } else {
        base64::engine::general_purpose::STANDARD.encode(v)
    }
}

fn expected(name: &str) -> (Contents, u64) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/datadir")
        .join(format!("{name}.expected.json"));
    let doc: Json = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let mut out = Contents::new();
    for k in doc["keys"].as_array().unwrap() {
        let value = match k.get("value") {
            Some(v) => shown(&b64(v)),
            None => format!(
                "{}:{}",
                k["value_len"].as_u64().unwrap(),
                k["value_sha256"].as_str().unwrap()
            ),
        };
        out.insert(
            (k["db"].as_i64().unwrap(), b64(&k["key"])),
            (
                value,
                k["version"].as_i64().unwrap(),
                k["pexpiretime"].as_i64().unwrap(),
            ),
        );
    }
    (out, doc["wal_last_seq"].as_u64().unwrap())
}

/// Every key of every database, as the running server reports it.
fn contents(srv: &Server) -> Contents {
    let mut c = srv.client();
    let mut out = Contents::new();
    for db in 0..16i64 {
        redis::cmd("SELECT").arg(db).query::<()>(&mut c).unwrap();
        let keys: Vec<Vec<u8>> = redis::cmd("KEYS").arg("*").query(&mut c).unwrap();
        for key in keys {
            let value: Vec<u8> = redis::cmd("GET").arg(&key).query(&mut c).unwrap();
            let version: i64 = redis::cmd("VERSION").arg(&key).query(&mut c).unwrap();
            let pexp: i64 = redis::cmd("PEXPIRETIME").arg(&key).query(&mut c).unwrap();
            out.insert((db, key), (shown(&value), version, pexp));
        }
    }
    out
}

fn wal_last_seq(srv: &Server) -> u64 {
    let info: String = redis::cmd("INFO")
        .arg("persistence")
        .query(&mut srv.client())
        .unwrap();
    info.lines()
        .find_map(|l| l.strip_prefix("wal_last_seq:"))
        .and_then(|v| v.trim().parse().ok())
        .expect("wal_last_seq in INFO persistence")
}

#[test]
fn string_only_format_3_data_dir_passes_storage_verify() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = common::fixture_dir(tmp.path(), "strings-v3");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_vaylix"))
        .args(["storage", "verify", "--data-dir"])
        .arg(&dir)
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

#[test]
fn string_only_format_3_data_dir_opens_and_reads_back_exactly_across_kill_9() {
    let (want, last_seq) = expected("strings-v3");
    assert!(want.len() >= 10, "the fixture's expectations are empty");
    let tmp = tempfile::tempdir().unwrap();
    let dir = common::fixture_dir(tmp.path(), "strings-v3");

    let mut srv = Server::start_in(&dir, &[]);
    assert_eq!(contents(&srv), want);
    assert_eq!(wal_last_seq(&srv), last_seq);

    // A write on top continues the clock past the fixture's last sequence; restarting (twice,
    // after kill -9) changes nothing else.
    let mut c = srv.client();
    redis::cmd("SET")
        .arg("new")
        .arg("1")
        .query::<()>(&mut c)
        .unwrap();
    let version: i64 = redis::cmd("VERSION").arg("new").query(&mut c).unwrap();
    assert_eq!(version as u64, last_seq + 1);
    let mut want = want;
    want.insert((0, b"new".to_vec()), (shown(b"1"), version, -1));
    for _ in 0..2 {
        srv.kill9();
        srv.spawn();
        assert_eq!(contents(&srv), want);
    }
}
