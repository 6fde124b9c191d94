//! The collection encoding thresholds (`hash-max-listpack-entries` and friends) are in force
//! before recovery loads the data dir: a hash written by one server comes back in the encoding
//! the next server's configuration gives it, from the WAL and from a snapshot alike.

mod common;

use bytes::Bytes;
use common::Server;
use std::sync::Arc;
use vaylix::config::Config;
use vaylix::keyspace::Keyspace;
use vaylix::server::persistence;

/// Writes a hash of three fields and a set of three members into a fresh data dir at `dir`
/// through the keyspace's collection write path (what HSET and SADD use), then closes it.
fn write_collections(dir: &std::path::Path) {
    let flags = vec![("data-dir".to_string(), dir.display().to_string())];
    let config = Config::load(None, &[], &flags).unwrap();
    let ks = Arc::new(Keyspace::new(16));
    let storage = persistence::open(&config, &ks).unwrap();
    {
        let keys = [&b"h"[..], &b"s"[..]];
        let mut l = ks.lock_keys(keys.into_iter());
        let pairs = ["a", "b", "c"]
            .iter()
            .map(|f| (Bytes::from(f.to_string()), Bytes::from_static(b"v")))
            .collect();
        l.hash_set(0, b"h", pairs, vaylix::commands::now_ms())
            .unwrap();
        let members: Vec<Bytes> = ["x", "y", "z"]
            .iter()
            .map(|m| Bytes::from(m.to_string()))
            .collect();
        l.set_add(0, b"s", &members, vaylix::commands::now_ms())
            .unwrap();
    }
    storage.shutdown().unwrap();
}

fn encoding(c: &mut redis::Connection, key: &str) -> String {
    redis::cmd("OBJECT")
        .arg("ENCODING")
        .arg(key)
        .query(c)
        .unwrap()
}

#[test]
fn encoding_thresholds_apply_before_recovery_loads_the_data_dir() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("data");
    write_collections(&dir);

    // From the WAL, under the defaults: small, so compact.
    let mut srv = Server::start_in(&dir, &[]);
    let mut c = srv.client();
    assert_eq!(encoding(&mut c, "h"), "listpack");
    assert_eq!(encoding(&mut c, "s"), "listpack");
    srv.kill9();

    // From the WAL, with thresholds below the sizes (the old hash name, a flag).
    let mut srv = Server::start_in(
        &dir,
        &[
            "--hash-max-ziplist-entries",
            "2",
            "--set-max-listpack-entries",
            "2",
        ],
    );
    let mut c = srv.client();
    assert_eq!(encoding(&mut c, "h"), "hashtable");
    assert_eq!(encoding(&mut c, "s"), "hashtable");
    let got: Vec<String> = redis::cmd("CONFIG")
        .arg("GET")
        .arg("hash-max-ziplist-entries")
        .query(&mut c)
        .unwrap();
    assert_eq!(got, ["hash-max-ziplist-entries", "2"]);
    let _: () = redis::cmd("SAVE").query(&mut c).unwrap();
    srv.kill9();

    // From the snapshot, under the defaults again.
    let mut srv = Server::start_in(&dir, &[]);
    let mut c = srv.client();
    assert_eq!(encoding(&mut c, "h"), "listpack");
    assert_eq!(encoding(&mut c, "s"), "listpack");
    srv.kill9();

    // From the snapshot, with the value-length threshold (new name) below the value's length.
    let mut srv = Server::start_in(&dir, &["--hash-max-listpack-value", "0"]);
    let mut c = srv.client();
    assert_eq!(encoding(&mut c, "h"), "hashtable");
    assert_eq!(encoding(&mut c, "s"), "listpack");
    srv.kill9();
}
