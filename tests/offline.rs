//! The offline tools against real data dirs written by the real server:
//! `storage verify`, `storage migrate`, `pitr inspect`, `pitr restore`.

mod common;

use common::{info_field, now_ms, p, vaylix, version, Server};
use redis::Connection;
use serde_json::Value as Json;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

fn vaylix_json(args: &[&str]) -> (i32, Json, String) {
    let (code, out, err) = vaylix(args);
    let v = serde_json::from_str(&out).unwrap_or_else(|e| panic!("not JSON ({e}): {out}\n{err}"));
    (code, v, err)
}

fn wal_last_seq(c: &mut Connection) -> u64 {
    let info: String = redis::cmd("INFO").arg("persistence").query(c).unwrap();
    info.lines()
        .find_map(|l| l.strip_prefix("wal_last_seq:"))
        .expect("wal_last_seq in INFO")
        .trim()
        .parse()
        .unwrap()
}

/// Every file under `dir` with its bytes and mtime.
fn tree(dir: &Path) -> BTreeMap<PathBuf, (Vec<u8>, SystemTime)> {
    let mut out = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let e = e.unwrap();
            let md = e.metadata().unwrap();
            if md.is_dir() {
                stack.push(e.path());
            } else {
                out.insert(
                    e.path(),
                    (std::fs::read(e.path()).unwrap(), md.modified().unwrap()),
                );
            }
        }
    }
    out
}

fn copy_dir(src: &Path, dst: &Path) {
    std::fs::create_dir_all(dst).unwrap();
    for e in std::fs::read_dir(src).unwrap() {
        let e = e.unwrap();
        let to = dst.join(e.file_name());
        if e.metadata().unwrap().is_dir() {
            copy_dir(&e.path(), &to);
        } else {
            std::fs::copy(e.path(), &to).unwrap();
        }
    }
}

fn files_in(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

/// key -> (value, version, absolute expiry in ms)
type Model = BTreeMap<String, (String, u64, Option<u64>)>;

/// key -> (value, version, pttl) as a server reports it.
fn server_state(c: &mut Connection) -> BTreeMap<String, (String, u64, i64)> {
    let mut out = BTreeMap::new();
    let mut cursor = 0u64;
    loop {
        let (next, keys): (u64, Vec<String>) = redis::cmd("SCAN")
            .arg(cursor)
            .arg("COUNT")
            .arg(1000)
            .query(c)
            .unwrap();
        for k in keys {
            let v: String = redis::cmd("GET").arg(&k).query(c).unwrap();
            let ver = version(c, &k).unwrap();
            let pttl: i64 = redis::cmd("PTTL").arg(&k).query(c).unwrap();
            out.insert(k, (v, ver, pttl));
        }
        if next == 0 {
            break;
        }
        cursor = next;
    }
    out
}

fn assert_state(c: &mut Connection, model: &Model, what: &str) {
    let got = server_state(c);
    let got_keys: Vec<&String> = got.keys().collect();
    let want_keys: Vec<&String> = model.keys().collect();
    assert_eq!(got_keys, want_keys, "{what}: keys differ");
    let now = now_ms() as i64;
    for (k, (v, ver, exp)) in model {
        let (gv, gver, pttl) = &got[k];
        assert_eq!(gv, v, "{what}: value of {k}");
        assert_eq!(gver, ver, "{what}: version of {k}");
        match exp {
            None => assert_eq!(*pttl, -1, "{what}: {k} should have no TTL"),
            Some(e) => assert!(
                *pttl > 0 && ((now + pttl) - *e as i64).abs() < 3_000,
                "{what}: {k} pttl {pttl}, expected expiry {e}"
            ),
        }
    }
}

/// A key a write touched, with its new (value, absolute expiry), or `None` for an expiry-only
/// change.
type Touched<'a> = (&'a str, Option<(String, Option<u64>)>);

/// Records the model after a write: `touched` keys get their live version (or vanish).
fn record(c: &mut Connection, model: &mut Model, touched: &[Touched]) {
    for (k, v) in touched {
        match (version(c, k), v) {
            (Some(ver), Some((val, exp))) => {
                model.insert(k.to_string(), (val.clone(), ver, *exp));
            }
            (Some(ver), None) => {
                // Expiry change only.
                let e = model.get_mut(*k).expect("known key");
                e.1 = ver;
                let pttl: i64 = redis::cmd("PTTL").arg(*k).query(c).unwrap();
                e.2 = (pttl > 0).then(|| now_ms() + pttl as u64);
            }
            (None, _) => {
                model.remove(*k);
            }
        }
    }
}

fn wait_bgsave(c: &mut Connection, seq: u64) {
    for _ in 0..500 {
        let info: String = redis::cmd("INFO").arg("persistence").query(c).unwrap();
        let snap: u64 = info
            .lines()
            .find_map(|l| l.strip_prefix("snapshot_last_seq:"))
            .unwrap()
            .trim()
            .parse()
            .unwrap();
        if snap >= seq && info.contains("snapshot_in_progress:0") {
            return;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    panic!("BGSAVE did not finish");
}

#[test]
fn pitr_restore_to_sequence_matches_the_live_state_across_segment_and_snapshot_boundaries() {
    let mut src = Server::start(&[
        "--wal-segment-size",
        "4096",
        "--snapshot-retain",
        "3",
        "--wal-retain-segments",
        "1000",
        "--snapshot-interval",
        "0",
    ]);
    let mut c = src.client();
    let mut model = Model::new();
    let mut states: BTreeMap<u64, Model> = BTreeMap::new();
    let mut snapshot_seqs = Vec::new();
    states.insert(0, model.clone());
    let pad = "p".repeat(150);
    for i in 0..150u64 {
        let k = format!("key{}", i % 25);
        match i % 7 {
            0..=2 => {
                let v = format!("v{i}-{pad}");
                let _: () = redis::cmd("SET").arg(&k).arg(&v).query(&mut c).unwrap();
                record(&mut c, &mut model, &[(&k, Some((v, None)))]);
            }
            3 => {
                let v = format!("ttl{i}");
                let _: () = redis::cmd("SET")
                    .arg(&k)
                    .arg(&v)
                    .arg("EX")
                    .arg(1000)
                    .query(&mut c)
                    .unwrap();
                record(
                    &mut c,
                    &mut model,
                    &[(&k, Some((v, Some(now_ms() + 1_000_000))))],
                );
            }
            4 => {
                let k = format!("key{}", (i * 3) % 25);
                let _: i64 = redis::cmd("DEL").arg(&k).query(&mut c).unwrap();
                record(&mut c, &mut model, &[(&k, None)]);
            }
            5 => {
                let k = format!("key{}", (i * 5) % 25);
                let n: i64 = redis::cmd("EXPIRE")
                    .arg(&k)
                    .arg(2000)
                    .query(&mut c)
                    .unwrap();
                if n == 1 {
                    record(&mut c, &mut model, &[(&k, None)]);
                }
            }
            _ => {
                // One entry with several effects.
                let v = format!("m{i}");
                let (_, n): ((), i64) = redis::pipe()
                    .atomic()
                    .cmd("SET")
                    .arg(&k)
                    .arg(&v)
                    .cmd("INCR")
                    .arg("counter")
                    .query(&mut c)
                    .unwrap();
                record(
                    &mut c,
                    &mut model,
                    &[
                        (&k, Some((v, None))),
                        ("counter", Some((n.to_string(), None))),
                    ],
                );
            }
        }
        let seq = wal_last_seq(&mut c);
        states.insert(seq, model.clone());
        if i % 40 == 20 {
            let _: () = redis::cmd("SAVE").query(&mut c).unwrap();
            snapshot_seqs.push(seq);
        } else if i % 40 == 39 {
            let _: String = redis::cmd("BGSAVE").query(&mut c).unwrap();
            wait_bgsave(&mut c, seq);
            snapshot_seqs.push(seq);
        }
    }
    let last = wal_last_seq(&mut c);
    drop(c);
    src.kill9();
    let before = tree(&src.dir);

    let (code, insp, _) = vaylix_json(&["pitr", "inspect", "--data-dir", p(&src.dir), "--json"]);
    assert_eq!(code, 0);
    assert_eq!(insp["last_seq"], last);
    assert_eq!(insp["window"][0]["from_seq"], 0, "{insp}");
    assert_eq!(insp["window"][0]["to_seq"], last);
    assert!(insp["segments"].as_array().unwrap().len() >= 4, "{insp}");

    // Targets: around every retained snapshot and segment boundary, and the ends.
    let mut targets: Vec<u64> = vec![1, last];
    let kept: Vec<u64> = insp["snapshots"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["seq"].as_u64().unwrap())
        .collect();
    assert!(!kept.is_empty());
    for s in kept.iter().take(2) {
        targets.extend([s - 1, *s, s + 1]);
    }
    for seg in insp["segments"].as_array().unwrap().iter().take(2) {
        targets.push(seg["last_seq"].as_u64().unwrap());
    }
    targets.sort_unstable();
    targets.dedup();
    let tmp = tempfile::tempdir().unwrap();
    let mut bases = std::collections::BTreeSet::new();
    for n in targets {
        let want = states.range(..=n).next_back().unwrap().1;
        let t = tmp.path().join(format!("at-{n}"));
        let (code, out, err) = vaylix_json(&[
            "pitr",
            "restore",
            "--source-dir",
            p(&src.dir),
            "--target-dir",
            p(&t),
            "--to-sequence",
            &n.to_string(),
            "--json",
        ]);
        assert_eq!(code, 0, "restore to {n}: {err}");
        assert_eq!(out["sequence"], n);
        bases.insert(out["base_snapshot"].as_u64().unwrap());
        assert_eq!(
            files_in(&t.join("wal")),
            vec![format!("active-{}.wal", n + 1)]
        );
        let (vcode, _, _) = vaylix(&["storage", "verify", "--data-dir", p(&t)]);
        assert_eq!(vcode, 0, "restored dir at {n} verifies");
        let restored = Server::start_in(&t, &[]);
        let mut rc = restored.client();
        assert_state(
            &mut rc,
            want,
            &format!("restore to {n} (base {})", out["base_snapshot"]),
        );
        assert_eq!(wal_last_seq(&mut rc), n);
        // The restored server goes on from N + 1.
        let _: () = redis::cmd("SET")
            .arg("after")
            .arg("1")
            .query(&mut rc)
            .unwrap();
        assert_eq!(version(&mut rc, "after"), Some(n + 1));
    }
    assert!(
        bases.len() >= 3,
        "restores used snapshots as bases: {bases:?} of {snapshot_seqs:?}"
    );
    assert_eq!(
        tree(&src.dir),
        before,
        "the source dir must be byte-identical"
    );
}

#[test]
fn pitr_restore_by_time_is_exact_to_each_acknowledged_write() {
    // Small segments and a snapshot in the middle: targets fall inside segments, on a segment
    // boundary and after the snapshot.
    let mut src = Server::start(&[
        "--wal-segment-size",
        "4096",
        "--snapshot-interval",
        "0",
        "--wal-retain-segments",
        "100",
    ]);
    let mut c = src.client();
    let mut model = Model::new();
    // (time right after write i was acknowledged, the state then)
    let mut marks: Vec<(u64, Model)> = Vec::new();
    for i in 0..24 {
        let k = format!("k{}", i % 7);
        // ~10 entries per 4 KiB segment.
        let v = format!("v{i}-{}", "x".repeat(300));
        let _: () = redis::cmd("SET").arg(&k).arg(&v).query(&mut c).unwrap();
        record(&mut c, &mut model, &[(&k, Some((v, None)))]);
        if i == 11 {
            let _: () = redis::cmd("SAVE").query(&mut c).unwrap();
        }
        if i % 5 == 4 {
            let _: i64 = redis::cmd("DEL").arg("k0").query(&mut c).unwrap();
            record(&mut c, &mut model, &[("k0", None)]);
        }
        // Every write after the mark is sent at least 3 ms after it.
        std::thread::sleep(Duration::from_millis(3));
        marks.push((now_ms(), model.clone()));
        std::thread::sleep(Duration::from_millis(3));
    }
    drop(c);
    src.kill9();
    let before = tree(&src.dir);
    let sd = p(&src.dir).to_string();
    let (code, insp, _) = vaylix_json(&["pitr", "inspect", "--data-dir", &sd, "--json"]);
    assert_eq!(code, 0);
    let segs = insp["segments"].as_array().unwrap();
    assert!(segs.len() >= 3, "several segments: {insp}");
    for s in segs.iter().filter(|s| s["entries"].as_u64() > Some(0)) {
        let (a, b) = (&s["first_entry_time_ms"], &s["last_entry_time_ms"]);
        assert!(a.as_u64().is_some() && a.as_u64() <= b.as_u64(), "{s}");
    }
    let tmp = tempfile::tempdir().unwrap();
    for i in [0usize, 4, 9, 11, 12, 17, 23] {
        let (t, want) = &marks[i];
        let target = tmp.path().join(format!("at-{i}"));
        let (code, out, err) = vaylix_json(&[
            "pitr",
            "restore",
            "--source-dir",
            &sd,
            "--target-dir",
            p(&target),
            "--to-timestamp-ms",
            &t.to_string(),
            "--json",
        ]);
        assert_eq!(code, 0, "mark {i}: {err}");
        let r = Server::start_in(&target, &[]);
        assert_state(
            &mut r.client(),
            want,
            &format!("restore to the time after write {i} ({out})"),
        );
    }
    assert_eq!(
        tree(&src.dir),
        before,
        "the source dir must be byte-identical"
    );
}

#[test]
fn pitr_is_exact_when_a_flush_ran_while_the_base_snapshot_was_written() {
    // A FLUSHALL made while a snapshot visits the shards empties the shards not yet visited:
    // the file then holds some keys of the state at S and not others, with no record newer
    // than S to tell. The snapshot's horizon says the flush may have reached it, so restore
    // to S must not use it and builds from the WAL instead.
    const KEYS: usize = 300_000;
    for attempt in 0..3 {
        let mut src = Server::start(&["--snapshot-interval", "0", "--wal-retain-segments", "1000"]);
        let mut c = src.client();
        for b in 0..KEYS / 10_000 {
            let mut pipe = redis::pipe();
            for i in b * 10_000..(b + 1) * 10_000 {
                pipe.cmd("SET").arg(format!("k{i}")).arg(i).ignore();
            }
            let _: () = pipe.query(&mut c).unwrap();
        }
        let _: String = redis::cmd("BGSAVE").query(&mut c).unwrap();
        // Let the WAL seal at S, then flush while the shards are being visited.
        for _ in 0..200 {
            if info_field(&mut c, "snapshot_in_progress") == "1" {
                break;
            }
            std::thread::sleep(Duration::from_millis(1));
        }
        std::thread::sleep(Duration::from_millis(15));
        let _: () = redis::cmd("FLUSHALL").query(&mut c).unwrap();
        let f = wal_last_seq(&mut c);
        wait_bgsave(&mut c, KEYS as u64);
        let s: u64 = info_field(&mut c, "snapshot_last_seq").parse().unwrap();
        drop(c);
        src.kill9();
        if s != KEYS as u64 || f != s + 1 {
            eprintln!("attempt {attempt}: snapshot at {s}, flush at {f}; the flush missed the snapshot, again");
            continue;
        }
        let tmp = tempfile::tempdir().unwrap();
        let target = tmp.path().join("at-s");
        let (code, out, err) = vaylix_json(&[
            "pitr",
            "restore",
            "--source-dir",
            p(&src.dir),
            "--target-dir",
            p(&target),
            "--to-sequence",
            &s.to_string(),
            "--json",
        ]);
        assert_eq!(code, 0, "{err}");
        let r = Server::start_in(&target, &[]);
        let mut rc = r.client();
        let n: usize = redis::cmd("DBSIZE").query(&mut rc).unwrap();
        assert_eq!(n, KEYS, "every key of the state at {s} ({out})");
        let v: String = redis::cmd("GET").arg("k123456").query(&mut rc).unwrap();
        assert_eq!(v, "123456");
        if out["base_snapshot"] == 0 {
            let skipped = out["skipped_bases"].to_string();
            assert!(skipped.contains("flush"), "{skipped}");
        }
        return;
    }
    panic!("the flush never landed inside the snapshot");
}

#[test]
fn pitr_restore_by_time_refuses_wrong_key_bad_targets_and_points_outside_the_window() {
    let tmp = tempfile::tempdir().unwrap();
    let key = tmp.path().join("master.hex");
    std::fs::write(&key, format!("{}\n", "ab".repeat(32))).unwrap();
    let wrong = tmp.path().join("wrong.hex");
    std::fs::write(&wrong, "cd".repeat(32)).unwrap();
    let kf = p(&key).to_string();
    // Recovery-only retention, so the window starts at the first SAVE.
    let mut src = Server::start(&[
        "--wal-segment-size",
        "4096",
        "--master-key-file",
        &kf,
        "--snapshot-interval",
        "0",
        "--pitr-retention",
        "0",
    ]);
    let mut c = src.client();
    let mut model = Model::new();
    for i in 0..10 {
        let v = format!("a{i}");
        let k = format!("a{i}");
        let _: () = redis::cmd("SET").arg(&k).arg(&v).query(&mut c).unwrap();
        record(&mut c, &mut model, &[(&k, Some((v, None)))]);
    }
    let _: () = redis::cmd("SAVE").query(&mut c).unwrap();
    let s1 = wal_last_seq(&mut c);
    let at_s1 = model.clone();
    std::thread::sleep(Duration::from_millis(60));
    let t = now_ms();
    std::thread::sleep(Duration::from_millis(60));
    for i in 0..10 {
        let _: () = redis::cmd("SET")
            .arg(format!("b{i}"))
            .arg("x")
            .query(&mut c)
            .unwrap();
    }
    let _: () = redis::cmd("SAVE").query(&mut c).unwrap();
    for i in 0..5 {
        let _: () = redis::cmd("SET")
            .arg(format!("c{i}"))
            .arg("y")
            .query(&mut c)
            .unwrap();
    }
    drop(c);
    src.kill9();
    let before = tree(&src.dir);
    let sd = p(&src.dir).to_string();

    // By timestamp: the last entry committed by t is the last one before the first snapshot.
    let t1 = tmp.path().join("by-ms");
    let (code, out, err) = vaylix_json(&[
        "pitr",
        "restore",
        "--source-dir",
        &sd,
        "--target-dir",
        p(&t1),
        "--to-timestamp-ms",
        &t.to_string(),
        "--master-key-file",
        &kf,
        "--json",
    ]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(out["sequence"], s1);
    {
        let r = Server::start_in(&t1, &["--master-key-file", &kf]);
        assert_state(&mut r.client(), &at_s1, "restore by time");
    }
    // By RFC 3339 time, taken from inspect's own output.
    let (code, insp, _) = vaylix_json(&[
        "pitr",
        "inspect",
        "--data-dir",
        &sd,
        "--master-key-file",
        &kf,
        "--json",
    ]);
    assert_eq!(code, 0);
    let snap = insp["snapshots"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["seq"] == s1)
        .expect("first snapshot kept")
        .clone();
    let t2 = tmp.path().join("by-time");
    let (code, out, err) = vaylix_json(&[
        "pitr",
        "restore",
        "--source-dir",
        &sd,
        "--target-dir",
        p(&t2),
        "--to-time",
        snap["time"].as_str().unwrap(),
        "--master-key-file",
        &kf,
        "--json",
    ]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(out["sequence"], s1);

    // Refusals, none of which creates the target.
    let t3 = tmp.path().join("refused");
    let (code, _, err) = vaylix(&[
        "pitr",
        "restore",
        "--source-dir",
        &sd,
        "--target-dir",
        p(&t3),
        "--to-sequence",
        "3",
        "--master-key-file",
        p(&wrong),
    ]);
    assert_eq!(code, 1);
    assert!(err.contains("wrong master key"), "{err}");
    let (code, _, err) = vaylix(&[
        "pitr",
        "restore",
        "--source-dir",
        &sd,
        "--target-dir",
        p(&t3),
        "--to-sequence",
        "3",
    ]);
    assert_eq!(code, 1);
    assert!(err.contains("no master key"), "{err}");
    let (code, _, err) = vaylix(&[
        "pitr",
        "restore",
        "--source-dir",
        &sd,
        "--target-dir",
        p(&t3),
        "--to-sequence",
        "1",
        "--master-key-file",
        &kf,
    ]);
    assert_eq!(code, 1);
    assert!(
        err.contains("outside the restorable window") && err.contains(&format!("sequences {s1}")),
        "{err}"
    );
    let (code, _, err) = vaylix(&[
        "pitr",
        "restore",
        "--source-dir",
        &sd,
        "--target-dir",
        p(&t3),
        "--to-time",
        "2000-01-01T00:00:00Z",
        "--master-key-file",
        &kf,
    ]);
    assert_eq!(code, 1);
    assert!(err.contains("window"), "{err}");
    let inside = src.dir.join("snapshots").join("x");
    for bad in [src.dir.clone(), inside, t1.clone()] {
        let (code, _, err) = vaylix(&[
            "pitr",
            "restore",
            "--source-dir",
            &sd,
            "--target-dir",
            p(&bad),
            "--to-sequence",
            &s1.to_string(),
            "--master-key-file",
            &kf,
        ]);
        assert_eq!(code, 1, "{bad:?}: {err}");
        assert!(err.contains("nested") || err.contains("not empty"), "{err}");
    }
    assert!(!t3.exists());
    let (code, _, _) = vaylix(&[
        "pitr",
        "restore",
        "--source-dir",
        &sd,
        "--target-dir",
        p(&t3),
    ]);
    assert_eq!(code, 2, "a target point is required");
    assert_eq!(
        tree(&src.dir),
        before,
        "the source dir must be byte-identical"
    );
}

/// A data dir with sealed segments, a snapshot and complete frames in the active segment.
fn populated_dir() -> Server {
    let mut s = Server::start(&[
        "--wal-segment-size",
        "4096",
        "--wal-retain-segments",
        "10",
        "--snapshot-interval",
        "0",
    ]);
    let mut c = s.client();
    let pad = "z".repeat(200);
    for i in 0..40 {
        let _: () = redis::cmd("SET")
            .arg(format!("k{i}"))
            .arg(&pad)
            .query(&mut c)
            .unwrap();
    }
    let _: () = redis::cmd("SAVE").query(&mut c).unwrap();
    for i in 0..45 {
        let _: () = redis::cmd("SET")
            .arg(format!("j{i}"))
            .arg(&pad)
            .query(&mut c)
            .unwrap();
    }
    drop(c);
    s.kill9();
    s
}

fn flip(path: &Path, at: u64) {
    let mut b = std::fs::read(path).unwrap();
    b[at as usize] ^= 0x5a;
    std::fs::write(path, b).unwrap();
}

fn file_status(v: &Json, file: &str) -> String {
    v["files"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["file"] == file)
        .unwrap_or_else(|| panic!("{file} not in {v}"))["status"]
        .as_str()
        .unwrap()
        .to_string()
}

#[test]
fn verify_passes_a_clean_dir_and_detects_every_corruption_kind() {
    let s = populated_dir();
    let wal = files_in(&s.dir.join("wal"));
    let sealed = wal
        .iter()
        .find(|n| !n.starts_with("active-"))
        .expect("a sealed segment")
        .clone();
    let active = wal
        .iter()
        .find(|n| n.starts_with("active-"))
        .expect("the active segment")
        .clone();
    let snap = files_in(&s.dir.join("snapshots"))[0].clone();

    let (code, out, _) = vaylix(&["storage", "verify", "--data-dir", p(&s.dir)]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("SOUND"), "{out}");

    let tmp = tempfile::tempdir().unwrap();
    #[allow(clippy::type_complexity)] // (name, file, damage, exit code, message): read in place
    let cases: Vec<(&str, String, Box<dyn Fn(&Path)>, i32, &str)> = vec![
        (
            "sealed",
            format!("wal/{sealed}"),
            Box::new(|d: &Path| {
                let f = d.join("wal").join(&sealed);
                flip(&f, std::fs::metadata(&f).unwrap().len() / 2)
            }),
            4,
            "damaged",
        ),
        (
            "active-frame",
            format!("wal/{active}"),
            Box::new(|d: &Path| flip(&d.join("wal").join(&active), 24 + 56 + 3)),
            4,
            "damaged",
        ),
        (
            "snapshot",
            format!("snapshots/{snap}"),
            Box::new(|d: &Path| {
                let f = d.join("snapshots").join(&snap);
                flip(&f, std::fs::metadata(&f).unwrap().len() / 2)
            }),
            4,
            "damaged",
        ),
        (
            "manifest",
            "manifest".into(),
            Box::new(|d: &Path| flip(&d.join("manifest"), 20)),
            4,
            "damaged",
        ),
        (
            "keyring",
            "keyring".into(),
            Box::new(|d: &Path| flip(&d.join("keyring"), 50)),
            4,
            "damaged",
        ),
        (
            "torn",
            format!("wal/{active}"),
            Box::new(|d: &Path| {
                let f = d.join("wal").join(&active);
                let len = std::fs::metadata(&f).unwrap().len();
                std::fs::OpenOptions::new()
                    .write(true)
                    .open(&f)
                    .unwrap()
                    .set_len(len - 7)
                    .unwrap();
            }),
            3,
            "repairable",
        ),
    ];
    for (name, file, mutate, want_code, want_status) in cases {
        let d = tmp.path().join(name);
        copy_dir(&s.dir, &d);
        mutate(&d);
        let (code, v, err) = vaylix_json(&["storage", "verify", "--data-dir", p(&d), "--json"]);
        assert_eq!(code, want_code, "{name}: {v}\n{err}");
        assert_eq!(file_status(&v, &file), want_status, "{name}: {v}");
        assert_eq!(v["status"], want_status, "{name}");
        if name != "manifest" && name != "keyring" {
            assert!(
                v["files"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .any(|f| f["file"] == file.as_str() && f["offset"].is_u64()),
                "{name}: offset reported: {v}"
            );
        }
        let (code, human, _) = vaylix(&["storage", "verify", "--data-dir", p(&d)]);
        assert_eq!(code, want_code);
        assert!(
            human.contains(if want_code == 3 {
                "REPAIRABLE"
            } else {
                "DAMAGED"
            }),
            "{human}"
        );
    }
    // The server cuts the torn tail; then the dir is sound again.
    let torn = tmp.path().join("torn");
    drop(Server::start_in(&torn, &[]));
    let (code, out, _) = vaylix(&["storage", "verify", "--data-dir", p(&torn)]);
    assert_eq!(code, 0, "{out}");
    // A wrong master key is not damage: exit 1, clearly labeled.
    let wrong = tmp.path().join("wrong.hex");
    std::fs::write(&wrong, "01".repeat(32)).unwrap();
    let (code, v, _) = vaylix_json(&[
        "storage",
        "verify",
        "--data-dir",
        p(&s.dir),
        "--master-key-file",
        p(&wrong),
        "--json",
    ]);
    assert_eq!(code, 1);
    assert_eq!(v["wrong_master_key"], true);
}

fn keys_json(v: &Json) -> Vec<(u64, Vec<String>)> {
    v["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| {
            (
                k["id"].as_u64().unwrap(),
                k["needed_by"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|f| f.as_str().unwrap().to_string())
                    .collect(),
            )
        })
        .collect()
}

#[test]
fn migrate_after_rotation_leaves_no_file_needing_the_old_key_and_keeps_the_data() {
    let mut s = Server::start(&[
        "--wal-segment-size",
        "4096",
        "--wal-retain-segments",
        "10",
        "--snapshot-retain",
        "3",
        "--snapshot-interval",
        "0",
    ]);
    let mut c = s.client();
    let pad = "q".repeat(180);
    let mut model = Model::new();
    for i in 0..60 {
        let k = format!("k{}", i % 45);
        let v = format!("{i}{pad}");
        let _: () = redis::cmd("SET").arg(&k).arg(&v).query(&mut c).unwrap();
        record(&mut c, &mut model, &[(&k, Some((v, None)))]);
        if i == 30 {
            let _: () = redis::cmd("SAVE").query(&mut c).unwrap();
            let _: String = redis::cmd("KEYRING").arg("ROTATE").query(&mut c).unwrap();
        }
    }
    let _: () = redis::cmd("SAVE").query(&mut c).unwrap();
    // Rotating with nothing new to snapshot makes key 3 active while the committed snapshot
    // stays under key 2: migrate must rewrite it and switch the manifest.
    let _: String = redis::cmd("KEYRING").arg("ROTATE").query(&mut c).unwrap();
    let _: () = redis::cmd("SAVE").query(&mut c).unwrap();
    let mid = wal_last_seq(&mut c) - 10;
    // Migration is refused while the server runs.
    let (code, _, err) = vaylix(&["storage", "migrate", "--data-dir", p(&s.dir)]);
    assert_eq!(code, 1);
    assert!(err.contains("stop the server"), "{err}");
    drop(c);
    s.kill9();

    let (code, v, _) = vaylix_json(&["storage", "verify", "--data-dir", p(&s.dir), "--json"]);
    assert_eq!(code, 0, "{v}");
    let keys = keys_json(&v);
    assert_eq!(keys.len(), 3, "{v}");
    assert!(
        !keys[0].1.is_empty() && !keys[1].1.is_empty(),
        "the old keys are still needed before migrating: {v}"
    );
    let snap_seq = v["snapshot_seq"].as_u64().unwrap();
    assert!(
        keys[1].1.contains(&format!("snapshots/{snap_seq}.snap")),
        "{v}"
    );

    let before = tree(&s.dir);
    let (code, dry, _) = vaylix_json(&[
        "storage",
        "migrate",
        "--data-dir",
        p(&s.dir),
        "--dry-run",
        "--json",
    ]);
    assert_eq!(code, 0);
    assert!(!dry["rewrite"].as_array().unwrap().is_empty(), "{dry}");
    assert_eq!(
        dry["retire_keys"],
        serde_json::json!([keys[0].0, keys[1].0])
    );
    assert_eq!(tree(&s.dir), before, "--dry-run changes nothing");

    let crash_tmp = tempfile::tempdir().unwrap();
    let crashed = crash_tmp.path().join("crashed");
    copy_dir(&s.dir, &crashed);

    let (code, out, err) = vaylix(&["storage", "migrate", "--data-dir", p(&s.dir)]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("retired key(s)"), "{out}");

    // A crash after the committed snapshot was renamed into place, before the manifest switch:
    // the server would refuse (fail closed); running migrate again completes the switch.
    let snap_name = format!("{snap_seq}.snap");
    std::fs::copy(
        s.dir.join("snapshots").join(&snap_name),
        crashed.join("snapshots").join(&snap_name),
    )
    .unwrap();
    std::fs::copy(s.dir.join("manifest"), crashed.join("manifest.migrate")).unwrap();
    let (code, _, _) = vaylix(&["storage", "verify", "--data-dir", p(&crashed)]);
    assert_eq!(code, 4, "the half-switched dir does not match its manifest");
    let (code, out, err) = vaylix(&["storage", "migrate", "--data-dir", p(&crashed)]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("completed an interrupted migration"), "{out}");
    let (code, out, _) = vaylix(&["storage", "verify", "--data-dir", p(&crashed)]);
    assert_eq!(code, 0, "{out}");
    let (code, v, _) = vaylix_json(&["storage", "verify", "--data-dir", p(&s.dir), "--json"]);
    assert_eq!(code, 0, "{v}");
    let keys = keys_json(&v);
    assert_eq!(keys.len(), 1, "only the active key is left: {v}");
    for f in v["files"].as_array().unwrap() {
        for k in f["key_ids"].as_array().unwrap() {
            assert_eq!(k.as_u64(), Some(keys[0].0), "{f}");
        }
    }
    // Migrating again has nothing to do.
    let (code, out, _) = vaylix(&["storage", "migrate", "--data-dir", p(&s.dir), "--dry-run"]);
    assert_eq!(code, 0);
    assert!(out.contains("nothing to do"), "{out}");
    // Mtimes are kept, so PITR inside the migrated history still works.
    let t = tempfile::tempdir().unwrap();
    let target = t.path().join("r");
    let (code, _, err) = vaylix(&[
        "pitr",
        "restore",
        "--source-dir",
        p(&s.dir),
        "--target-dir",
        p(&target),
        "--to-sequence",
        &mid.to_string(),
    ]);
    assert_eq!(code, 0, "{err}");

    let r = Server::start_in(&s.dir, &[]);
    let mut rc = r.client();
    assert_state(&mut rc, &model, "after migrate");
    let status: redis::Value = redis::cmd("KEYRING").arg("STATUS").query(&mut rc).unwrap();
    match status {
        redis::Value::Array(items) => assert_eq!(items.len(), 1, "{items:?}"),
        other => panic!("unexpected KEYRING STATUS reply {other:?}"),
    }
}

#[test]
fn tools_have_help_and_backup_verify_is_not_in_this_build() {
    for args in [
        &["storage", "verify", "--help"][..],
        &["storage", "migrate", "--help"],
        &["pitr", "inspect", "--help"],
        &["pitr", "restore", "--help"],
    ] {
        let (code, out, _) = vaylix(args);
        assert_eq!(code, 0, "{args:?}");
        assert!(out.contains("Usage: vaylix"), "{out}");
    }
    let (_, out, _) = vaylix(&["pitr", "restore", "--help"]);
    assert!(
        out.contains("--to-time") && out.contains("commit time"),
        "{out}"
    );
    let fixtures = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/backup");
    let (code, out, err) = vaylix(&["backup", "verify", &format!("{fixtures}/original-v2.json")]);
    assert_eq!(code, 0, "{out}{err}");
    let (code, _, _) = vaylix(&["backup", "verify", &format!("{fixtures}/truncated.json")]);
    assert_ne!(code, 0, "a truncated dump is refused");
    let (code, _, _) = vaylix(&["backup", "verify", "/nonexistent/x.json"]);
    assert_ne!(code, 0);
    let (code, _, _) = vaylix(&["storage", "verify"]);
    assert_eq!(code, 2);
}
