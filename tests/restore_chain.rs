//! The segment-chain rules after a restore baseline (issue 11, item 17): recovery, `storage
//! verify` and `pitr` judge the chain with the same functions (`storage::chain`), so a data dir
//! the server starts on is one verify calls sound.

mod common;

use common::{p, vaylix, Server};

/// A dump whose versions reach about 1000: RESTORE then jumps the sequence far past the WAL.
fn dump_with_high_versions() -> Vec<u8> {
    let s = Server::start(&[]);
    let mut c = s.client();
    let mut pipe = redis::pipe();
    for i in 0..1000 {
        pipe.cmd("SET").arg(format!("r{}", i % 50)).arg(i).ignore();
    }
    let _: () = pipe.query(&mut c).unwrap();
    redis::cmd("BACKUP").query(&mut c).unwrap()
}

#[test]
fn verify_accepts_the_chain_after_restore_with_retained_segments() {
    let dump = dump_with_high_versions();
    let args = ["--wal-retain-segments", "5", "--wal-segment-size", "4096"];
    let mut s = Server::start(&args);
    let mut c = s.client();
    for i in 0..10 {
        let _: () = redis::cmd("SET")
            .arg(format!("k{i}"))
            .arg("v".repeat(1000))
            .query(&mut c)
            .unwrap();
    }
    let _: redis::Value = redis::cmd("RESTORE").arg(&dump).query(&mut c).unwrap();
    for i in 0..5 {
        let _: () = redis::cmd("SET")
            .arg(format!("after{i}"))
            .arg(i)
            .query(&mut c)
            .unwrap();
    }
    drop(c);
    s.kill9();

    let (code, out, err) = vaylix(&["storage", "verify", "--data-dir", p(&s.dir)]);
    assert_eq!(code, 0, "verify after RESTORE and kill -9:\n{out}\n{err}");
    let (code, out, err) = vaylix(&["pitr", "inspect", "--data-dir", p(&s.dir), "--json"]);
    assert_eq!(code, 0, "{out}\n{err}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    let gaps = v["wal_gaps"].as_array().unwrap();
    assert!(
        !gaps.is_empty(),
        "the retained WAL jumps to the baseline: {v}"
    );
    assert!(
        gaps.iter().all(|g| g["kind"] == "restore_baseline"),
        "the jump is the baseline's, nothing is missing: {v}"
    );

    // The server agrees, and after its shutdown snapshot verify still does.
    let mut s2 = Server::start_in(&s.dir, &args);
    let mut c = s2.client();
    let v: Option<String> = redis::cmd("GET").arg("after4").query(&mut c).unwrap();
    assert_eq!(v.as_deref(), Some("4"));
    let v: Option<String> = redis::cmd("GET").arg("k0").query(&mut c).unwrap();
    assert_eq!(v, None, "RESTORE replaced the keyspace");
    let _: () = redis::cmd("SET")
        .arg("later")
        .arg("1")
        .query(&mut c)
        .unwrap();
    drop(c);
    assert!(s2.terminate().success());
    let (code, out, err) = vaylix(&["storage", "verify", "--data-dir", p(&s.dir)]);
    assert_eq!(code, 0, "verify after a clean restart:\n{out}\n{err}");
}
