//! Function libraries are durable state: they come back after kill -9 from the WAL and from a
//! snapshot with later changes replayed on top, `vaylix pitr restore` gives the libraries of
//! each target sequence, and a logical backup carries them into another server (whose restore
//! baseline keeps them across its own kill -9). The real binary, the redis crate.

mod common;

use common::{
    function_libraries as libraries, function_load as load, info_field, p, vaylix, Server,
};
use redis::{Connection, Value};
use std::collections::BTreeMap;

fn lib(name: &str, function: &str, result: &str) -> String {
    format!(
        "#!lua name={name}\nredis.register_function('{function}', function(keys, args) return '{result}' end)"
    )
}

fn fcall(c: &mut Connection, f: &str) -> redis::RedisResult<String> {
    redis::cmd("FCALL").arg(f).arg(0).query(c)
}

fn seq(c: &mut Connection) -> u64 {
    info_field(c, "wal_last_seq").parse().unwrap()
}

#[test]
fn libraries_survive_kill_9_from_the_wal_and_from_a_snapshot_with_replay() {
    let mut srv = Server::start(&["--snapshot-interval", "0"]);
    let mut c = srv.client();
    load(&mut c, &lib("a", "fa", "a1"), false);
    load(&mut c, &lib("b", "fb", "b1"), false);
    let _: () = redis::cmd("SAVE").query(&mut c).unwrap();
    // After the snapshot: a replace, a delete and a new library, replayed over it.
    load(&mut c, &lib("a", "fa", "a2"), true);
    let _: () = redis::cmd("FUNCTION")
        .arg("DELETE")
        .arg("b")
        .query(&mut c)
        .unwrap();
    load(&mut c, &lib("c", "fc", "c1"), false);
    let want = libraries(&mut c);
    assert_eq!(want.keys().collect::<Vec<_>>(), ["a", "c"]);
    drop(c);
    srv.kill9();
    let dir = srv.dir.clone();
    let srv = Server::start_in(&dir, &[]);
    let mut c = srv.client();
    assert_eq!(libraries(&mut c), want);
    assert_eq!(fcall(&mut c, "fa").unwrap(), "a2");
    assert_eq!(fcall(&mut c, "fc").unwrap(), "c1");
    assert!(fcall(&mut c, "fb")
        .unwrap_err()
        .to_string()
        .contains("Function not found"));
    // FUNCTION STATS counts what was recovered before anything was called.
    let srv2 = {
        drop(c);
        let mut s = srv;
        s.kill9();
        Server::start_in(&dir, &[])
    };
    let mut c = srv2.client();
    let stats: Vec<Value> = redis::cmd("FUNCTION").arg("STATS").query(&mut c).unwrap();
    let text = format!("{stats:?}");
    assert!(
        text.contains("libraries_count") && text.contains("int(2)"),
        "{text}"
    );
    // FUNCTION FLUSH is durable too.
    let _: () = redis::cmd("FUNCTION").arg("FLUSH").query(&mut c).unwrap();
    drop(c);
    let mut s = srv2;
    s.kill9();
    let srv3 = Server::start_in(&dir, &[]);
    let mut c = srv3.client();
    assert!(libraries(&mut c).is_empty());
}

#[test]
fn pitr_restore_gives_the_libraries_of_each_target() {
    let mut src = Server::start(&["--snapshot-interval", "0", "--wal-retain-segments", "1000"]);
    let mut c = src.client();
    let mut states: BTreeMap<u64, BTreeMap<String, String>> = BTreeMap::new();
    let _: () = redis::cmd("SET").arg("k").arg("v").query(&mut c).unwrap();
    states.insert(seq(&mut c), BTreeMap::new());
    type Step = Box<dyn Fn(&mut Connection)>;
    let steps: Vec<Step> = vec![
        Box::new(|c| load(c, &lib("one", "f1", "x"), false)),
        Box::new(|c| load(c, &lib("two", "f2", "y"), false)),
        Box::new(|c| {
            let _: () = redis::cmd("SAVE").query(c).unwrap();
        }),
        Box::new(|c| load(c, &lib("one", "f1", "z"), true)),
        Box::new(|c| {
            let _: () = redis::cmd("FUNCTION")
                .arg("DELETE")
                .arg("two")
                .query(c)
                .unwrap();
        }),
        Box::new(|c| {
            let _: () = redis::cmd("SET").arg("k").arg("w").query(c).unwrap();
        }),
    ];
    for step in steps {
        step(&mut c);
        let s = seq(&mut c);
        states.insert(s, libraries(&mut c));
    }
    drop(c);
    src.kill9();
    let tmp = tempfile::tempdir().unwrap();
    let last = *states.keys().next_back().unwrap();
    for n in 1..=last {
        let Some((_, want)) = states.range(..=n).next_back() else {
            continue;
        };
        let t = tmp.path().join(format!("at-{n}"));
        let (code, _, err) = vaylix(&[
            "pitr",
            "restore",
            "--source-dir",
            p(&src.dir),
            "--target-dir",
            p(&t),
            "--to-sequence",
            &n.to_string(),
        ]);
        assert_eq!(code, 0, "restore to {n}: {err}");
        let restored = Server::start_in(&t, &[]);
        let mut rc = restored.client();
        assert_eq!(&libraries(&mut rc), want, "libraries at sequence {n}");
    }
}

#[test]
fn a_backup_carries_the_libraries_and_its_restore_keeps_them_across_kill_9() {
    let a = Server::start(&[]);
    let mut ca = a.client();
    load(&mut ca, &lib("kept", "fk", "kept"), false);
    let _: () = redis::cmd("SET")
        .arg("key")
        .arg("val")
        .query(&mut ca)
        .unwrap();
    let dump: Vec<u8> = redis::cmd("BACKUP").query(&mut ca).unwrap();
    let text = String::from_utf8_lossy(&dump);
    assert!(text.contains("\"functions\":["), "{text}");

    let mut b = Server::start(&[]);
    let mut cb = b.client();
    load(&mut cb, &lib("gone", "fg", "gone"), false);
    let _: Value = redis::cmd("RESTORE").arg(&dump).query(&mut cb).unwrap();
    assert_eq!(libraries(&mut cb), libraries(&mut ca));
    assert_eq!(fcall(&mut cb, "fk").unwrap(), "kept");
    assert!(fcall(&mut cb, "fg").is_err());
    drop(cb);
    b.kill9();
    let dir = b.dir.clone();
    let b2 = Server::start_in(&dir, &[]);
    let mut cb = b2.client();
    assert_eq!(libraries(&mut cb), libraries(&mut ca));
    assert_eq!(fcall(&mut cb, "fk").unwrap(), "kept");

    // A dump without libraries (as earlier builds wrote) restores to none.
    let _: () = redis::cmd("FUNCTION").arg("FLUSH").query(&mut ca).unwrap();
    let bare: Vec<u8> = redis::cmd("BACKUP").query(&mut ca).unwrap();
    assert!(!String::from_utf8_lossy(&bare).contains("\"functions\""));
    let _: Value = redis::cmd("RESTORE").arg(&bare).query(&mut cb).unwrap();
    assert!(libraries(&mut cb).is_empty());
}
