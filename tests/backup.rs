//! BACKUP / RESTORE end to end: the real binary, the redis crate and files in backup-dir.

mod common;

use common::{backups, err_text, int, version, Fields, Server};
use redis::Commands;
use std::collections::HashMap;
use std::path::Path;
use std::time::{Duration, Instant};

fn string(f: &Fields, k: &str) -> String {
    redis::from_redis_value(
        f.get(k)
            .unwrap_or_else(|| panic!("no field {k} in {f:?}"))
            .clone(),
    )
    .unwrap()
}

fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/backup")
            .join(name),
    )
    .unwrap()
}

fn select(c: &mut redis::Connection, db: i64) {
    let _: () = redis::cmd("SELECT").arg(db).query(c).unwrap();
}

fn dbsize(c: &mut redis::Connection) -> i64 {
    redis::cmd("DBSIZE").query(c).unwrap()
}

/// What a key should look like: (db, key, value, version, has_ttl).
type KeyState = (i64, Vec<u8>, Vec<u8>, u64, bool);

/// A populated server: binary keys and values, TTLs, three databases. Returns every key's
/// [`KeyState`].
fn populate(c: &mut redis::Connection) -> Vec<KeyState> {
    let mut want = Vec::new();
    for (db, key, val, ttl) in [
        (0, b"plain".to_vec(), b"value".to_vec(), false),
        (
            0,
            vec![0xff, 0x00, 0xfe, b'\n'],
            vec![0, 1, 2, 255, 13, 10],
            false,
        ),
        (
            0,
            "caf\u{e9} \"q\"".as_bytes().to_vec(),
            vec![0xc3; 1000],
            true,
        ),
        (3, b"plain".to_vec(), b"other db".to_vec(), true),
        (3, vec![0x80], Vec::new(), false),
        (15, b"last".to_vec(), b"x".to_vec(), false),
    ] {
        select(c, db);
        if ttl {
            let _: () = redis::cmd("SET")
                .arg(&key)
                .arg(&val)
                .arg("EX")
                .arg(1000)
                .query(c)
                .unwrap();
        } else {
            let _: () = c.set(&key, &val).unwrap();
        }
        want.push((db, key.clone(), val, version(c, &key).unwrap(), ttl));
    }
    // Written, then overwritten and deleted: not in the dump.
    select(c, 0);
    let _: () = c.set("deleted", "x").unwrap();
    let _: () = c.del("deleted").unwrap();
    let _: () = redis::cmd("SET")
        .arg("expired")
        .arg("x")
        .arg("PX")
        .arg(1)
        .query(c)
        .unwrap();
    std::thread::sleep(Duration::from_millis(5));
    want
}

fn check(c: &mut redis::Connection, want: &[KeyState]) {
    for (db, key, val, ver, ttl) in want {
        select(c, *db);
        let got: Option<Vec<u8>> = c.get(key).unwrap();
        assert_eq!(got.as_ref(), Some(val), "db {db} key {key:?}");
        assert_eq!(
            version(c, key),
            Some(*ver),
            "version of db {db} key {key:?}"
        );
        let pttl: i64 = c.pttl(key).unwrap();
        if *ttl {
            assert!(pttl > 990_000 && pttl <= 1_000_000, "pttl {pttl}");
        } else {
            assert_eq!(pttl, -1);
        }
    }
    select(c, 0);
    assert_eq!(dbsize(c), 3);
}

#[test]
fn round_trip_keeps_binary_keys_values_ttls_and_versions_across_databases() {
    let a = Server::start(&[]);
    let mut ca = a.client();
    let want = populate(&mut ca);
    let dump: Vec<u8> = redis::cmd("BACKUP").query(&mut ca).unwrap();
    let text = String::from_utf8(dump.clone()).unwrap();
    assert!(text.starts_with("{\"version\":2,"), "{text}");
    assert!(!text.contains("deleted") && !text.contains("expired"));
    let w: Fields = redis::cmd("BACKUP")
        .arg("TO")
        .arg("rt.json")
        .query(&mut ca)
        .unwrap();
    assert_eq!(int(&w, "entries"), 6);
    let on_disk = std::fs::read(backups(&a).join("rt.json")).unwrap();
    assert_eq!(int(&w, "byte_len") as usize, on_disk.len());
    let side: serde_json::Value =
        serde_json::from_slice(&std::fs::read(backups(&a).join("rt.json.manifest.json")).unwrap())
            .unwrap();
    for f in [
        "manifest_version",
        "backup_version",
        "created_at_ms",
        "source_engine_version",
        "source_sequence",
        "entry_count",
        "byte_len",
        "hash_algorithm",
        "sha256",
    ] {
        assert!(side.get(f).is_some(), "sidecar lacks {f}: {side}");
    }
    assert_eq!(side["hash_algorithm"], "sha256");
    assert_eq!(side["entry_count"], 6);
    assert_eq!(side["sha256"].as_str().unwrap(), string(&w, "sha256"));
    let max_version = want.iter().map(|w| w.3).max().unwrap();
    assert_eq!(
        side["source_sequence"].as_u64().unwrap(),
        int(&w, "source_sequence") as u64
    );
    assert!(int(&w, "source_sequence") as u64 >= max_version);

    // Inline dump into a fresh server, with other data that must disappear.
    let b = Server::start(&[]);
    let mut cb = b.client();
    for i in 0..50 {
        let _: () = cb.set(format!("junk{i}"), i).unwrap();
    }
    let r: Fields = redis::cmd("RESTORE").arg(&dump).query(&mut cb).unwrap();
    assert_eq!(int(&r, "restored"), 6);
    let seq = int(&r, "sequence") as u64;
    assert!(seq > max_version);
    check(&mut cb, &want);
    // The clock moved past the restored versions: new writes get larger ones.
    let _: () = cb.set("new", "1").unwrap();
    assert!(version(&mut cb, b"new").unwrap() > seq);

    // From a file (copied into another server's backup-dir).
    let c = Server::start(&[]);
    std::fs::create_dir_all(backups(&c)).unwrap();
    for f in ["rt.json", "rt.json.manifest.json"] {
        std::fs::copy(backups(&a).join(f), backups(&c).join(f)).unwrap();
    }
    let mut cc = c.client();
    let r: Fields = redis::cmd("RESTORE")
        .arg("FROM")
        .arg("rt.json")
        .query(&mut cc)
        .unwrap();
    assert_eq!(int(&r, "restored"), 6);
    check(&mut cc, &want);
    // A backup of the restored state is the same dump apart from its header.
    let again: Vec<u8> = redis::cmd("BACKUP").query(&mut cc).unwrap();
    let entries =
        |d: &[u8]| serde_json::from_slice::<serde_json::Value>(d).unwrap()["entries"].clone();
    assert_eq!(entries(&again), entries(&dump));
}

#[test]
fn restore_survives_kill9_and_later_writes_follow_it() {
    let mut srv = Server::start(&[]);
    let mut c = srv.client();
    for i in 0..100 {
        let _: () = c.set(format!("old{i}"), i).unwrap();
    }
    let _: () = redis::cmd("SAVE").query(&mut c).unwrap();
    let _: () = c.set("old-after-save", 1).unwrap();
    let r: Fields = redis::cmd("RESTORE")
        .arg(fixture("original-v2.json"))
        .query(&mut c)
        .unwrap();
    assert_eq!(int(&r, "restored"), 3);
    assert_eq!(int(&r, "skipped_expired"), 1);
    let seq = int(&r, "sequence") as u64;
    assert_eq!(seq, 4243);
    srv.kill9();
    let mut srv = Server::start_in(&srv.dir.clone(), &[]);
    let mut c = srv.client();
    assert_eq!(dbsize(&mut c), 1);
    assert_eq!(c.get::<_, String>("greeting").unwrap(), "hello");
    assert_eq!(version(&mut c, b"greeting"), Some(4100));
    let _: () = c.set("after", "restore").unwrap();
    let v = version(&mut c, b"after").unwrap();
    assert!(v > seq, "{v} <= {seq}");
    srv.kill9();
    let srv = Server::start_in(&srv.dir.clone(), &[]);
    let mut c = srv.client();
    assert_eq!(c.get::<_, String>("after").unwrap(), "restore");
    assert_eq!(version(&mut c, b"after"), Some(v));
    assert_eq!(c.get::<_, Option<String>>("old-after-save").unwrap(), None);
    select(&mut c, 2);
    assert_eq!(
        c.get::<_, Vec<u8>>(&b"\xff\xfe"[..]).unwrap(),
        vec![0, 0xff]
    );
    assert_eq!(version(&mut c, b"\xff\xfe"), Some(4200));
    let at: i64 = redis::cmd("PEXPIRETIME")
        .arg(&b"\xff\xfe"[..])
        .query(&mut c)
        .unwrap();
    assert_eq!(at, 4102444800000);
    select(&mut c, 15);
    assert_eq!(c.get::<_, String>("caf\u{e9}").unwrap(), "world");
}

#[test]
fn original_vaylix_v2_and_v1_dumps_restore() {
    let srv = Server::start(&[]);
    let mut c = srv.client();
    let chk: Fields = redis::cmd("RESTORE")
        .arg("CHECK")
        .arg(fixture("original-v2.json"))
        .query(&mut c)
        .unwrap();
    assert_eq!(int(&chk, "entries"), 4);
    assert_eq!(int(&chk, "live_entries"), 3);
    assert_eq!(int(&chk, "version"), 2);
    assert_eq!(int(&chk, "source_sequence"), 4242);
    assert_eq!(string(&chk, "sha256").len(), 64);
    assert_eq!(dbsize(&mut c), 0, "CHECK touches nothing");

    let _: () = c.set("before", "x").unwrap();
    let before = version(&mut c, b"before").unwrap();
    let r: Fields = redis::cmd("RESTORE")
        .arg(fixture("v1.json"))
        .query(&mut c)
        .unwrap();
    assert_eq!(int(&r, "restored"), 3);
    let seq = int(&r, "sequence") as u64;
    assert!(seq > before);
    assert_eq!(c.get::<_, String>("a").unwrap(), "alpha");
    assert_eq!(
        version(&mut c, b"a"),
        Some(seq),
        "v1 entries get a fresh clock value"
    );
    assert!(c.pttl::<_, i64>("t").unwrap() > 0);
    assert_eq!(c.get::<_, Option<String>>("before").unwrap(), None);
    select(&mut c, 1);
    assert_eq!(c.get::<_, String>("b").unwrap(), "beta");
}

#[test]
fn bad_input_gets_a_clear_error_and_changes_nothing() {
    let srv = Server::start(&[]);
    let mut c = srv.client();
    let _: () = c.set("sentinel", "keep").unwrap();
    let ver = version(&mut c, b"sentinel");
    let cases: &[(&str, &str)] = &[
        ("not-json.json", "invalid JSON"),
        ("truncated.json", "truncated dump"),
        ("bad-version.json", "unsupported backup version 3"),
        ("bad-base64.json", "value_base64 is not valid base64"),
        ("bad-type.json", "unsupported type 'widget'"),
    ];
    for (file, want) in cases {
        for check in [false, true] {
            let mut cmd = redis::cmd("RESTORE");
            if check {
                cmd.arg("CHECK");
            }
            let e = err_text(cmd.arg(fixture(file)).query::<Fields>(&mut c));
            assert!(
                e.starts_with("ERR invalid backup") && e.contains(want),
                "{file}: {e}"
            );
        }
        let e = err_text(
            redis::cmd("BACKUP")
                .arg("VERIFY")
                .arg(fixture(file))
                .query::<Fields>(&mut c),
        );
        assert!(e.contains(want), "{file}: {e}");
    }
    let e = err_text(
        redis::cmd("RESTORE")
            .arg(r#"{"version":2,"entries":[{"key":"k","value_base64":"","version":1,"db":40}]}"#)
            .query::<Fields>(&mut c),
    );
    assert!(e.contains("db 40 is out of range"), "{e}");

    // Files: a good backup, then damaged copies of it.
    let _: Fields = redis::cmd("BACKUP")
        .arg("TO")
        .arg("good.json")
        .query(&mut c)
        .unwrap();
    let dir = backups(&srv);
    let good = std::fs::read(dir.join("good.json")).unwrap();
    let side = std::fs::read(dir.join("good.json.manifest.json")).unwrap();
    let put = |name: &str, dump: &[u8], side: Option<&[u8]>| {
        std::fs::write(dir.join(name), dump).unwrap();
        if let Some(s) = side {
            std::fs::write(dir.join(format!("{name}.manifest.json")), s).unwrap();
        }
    };
    let mut flipped = good.clone();
    let i = flipped.len() / 2;
    flipped[i] = if flipped[i] == b'A' { b'B' } else { b'A' };
    put("flipped.json", &flipped, Some(&side));
    put("short.json", &good[..good.len() - 10], Some(&side));
    put("nosidecar.json", &good, None);
    put("badsidecar.json", &good, Some(b"{\"manifest_version\": 1"));
    let file_cases: &[(&str, &str)] = &[
        ("flipped.json", "digest mismatch"),
        ("short.json", "size mismatch"),
        ("nosidecar.json", "not found"),
        ("badsidecar.json", "backup manifest check failed"),
        ("absent.json", "No such file"),
    ];
    for (file, want) in file_cases {
        for form in [
            &["RESTORE", "FROM"][..],
            &["RESTORE", "CHECK", "FROM"],
            &["BACKUP", "VERIFY", "FROM"],
        ] {
            let mut cmd = redis::cmd(form[0]);
            cmd.arg(&form[1..]).arg(*file);
            let e = err_text(cmd.query::<Fields>(&mut c));
            assert!(
                e.starts_with("ERR") && e.contains(want),
                "{form:?} {file}: {e}"
            );
        }
    }
    let ok: Fields = redis::cmd("BACKUP")
        .arg("VERIFY")
        .arg("FROM")
        .arg("good.json")
        .query(&mut c)
        .unwrap();
    assert_eq!(int(&ok, "manifest_checked"), 1);
    assert_eq!(int(&ok, "entries"), 1);
    assert_eq!(c.get::<_, String>("sentinel").unwrap(), "keep");
    assert_eq!(version(&mut c, b"sentinel"), ver);
    assert_eq!(dbsize(&mut c), 1);

    // Syntax and Redis's own RESTORE form.
    let e = err_text(
        redis::cmd("RESTORE")
            .arg("k")
            .arg(0)
            .arg("\x00\x0bpayload")
            .query::<()>(&mut c),
    );
    assert!(
        e.contains("Redis DUMP payloads") && e.contains("not supported"),
        "{e}"
    );
    let e = err_text(
        redis::cmd("RESTORE")
            .arg("k")
            .arg(0)
            .arg("p")
            .arg("REPLACE")
            .query::<()>(&mut c),
    );
    assert!(e.contains("Redis DUMP payloads"), "{e}");
    assert_eq!(
        err_text(redis::cmd("BACKUP").arg("NOPE").query::<()>(&mut c)),
        "ERR syntax error"
    );
    assert_eq!(
        err_text(
            redis::cmd("RESTORE")
                .arg("FROM")
                .arg("a")
                .arg("b")
                .query::<()>(&mut c)
        ),
        "ERR syntax error"
    );
    let _: () = redis::cmd("MULTI").query(&mut c).unwrap();
    let e = err_text(redis::cmd("BACKUP").query::<()>(&mut c));
    assert!(e.contains("not allowed inside a transaction"), "{e}");
    let _: () = redis::cmd("DISCARD").query(&mut c).unwrap();
}

#[test]
fn paths_outside_backup_dir_and_symlinks_are_refused() {
    let srv = Server::start(&[]);
    let mut c = srv.client();
    let _: () = c.set("k", "v").unwrap();
    let dir = backups(&srv);
    std::fs::create_dir_all(&dir).unwrap();
    let outside = srv.dir.parent().unwrap().join("outside");
    std::fs::create_dir_all(&outside).unwrap();
    std::os::unix::fs::symlink(&outside, dir.join("linkdir")).unwrap();
    std::os::unix::fs::symlink(outside.join("target.json"), dir.join("link.json")).unwrap();
    let abs_out = outside.join("abs.json");
    let cases: Vec<(String, &str)> = vec![
        ("../x.json".into(), "must not contain '..'"),
        ("sub/../../x.json".into(), "must not contain '..'"),
        (abs_out.display().to_string(), "outside backup-dir"),
        ("/etc/passwd".into(), "outside backup-dir"),
        ("linkdir/x.json".into(), "symbolic link"),
        ("link.json".into(), "symbolic link"),
    ];
    for (p, want) in &cases {
        let e = err_text(
            redis::cmd("BACKUP")
                .arg("TO")
                .arg(p)
                .query::<Fields>(&mut c),
        );
        assert!(e.contains(want), "BACKUP TO {p}: {e}");
        let e = err_text(
            redis::cmd("RESTORE")
                .arg("FROM")
                .arg(p)
                .query::<Fields>(&mut c),
        );
        assert!(e.contains(want), "RESTORE FROM {p}: {e}");
    }
    assert_eq!(
        std::fs::read_dir(&outside).unwrap().count(),
        0,
        "nothing written outside"
    );
    // An absolute path inside backup-dir is fine; an existing file is never overwritten.
    let inside = std::fs::canonicalize(&dir).unwrap().join("abs.json");
    let _: Fields = redis::cmd("BACKUP")
        .arg("TO")
        .arg(inside.to_str().unwrap())
        .query(&mut c)
        .unwrap();
    let e = err_text(
        redis::cmd("BACKUP")
            .arg("TO")
            .arg("abs.json")
            .query::<Fields>(&mut c),
    );
    assert!(e.contains("already exists"), "{e}");
    let mode =
        std::os::unix::fs::PermissionsExt::mode(&std::fs::metadata(&inside).unwrap().permissions());
    assert_eq!(mode & 0o777, 0o600, "dumps hold plaintext data");
}

#[test]
fn a_backup_is_a_consistent_cut_while_others_write() {
    let srv = Server::start(&["--appendfsync", "no"]);
    let url = srv.url();
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let writers: Vec<_> = (0..3)
        .map(|w| {
            let (url, stop) = (url.clone(), stop.clone());
            std::thread::spawn(move || {
                let mut c = redis::Client::open(url).unwrap().get_connection().unwrap();
                let mut i = 0u64;
                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    // One command, one entry: a and b always move together.
                    let _: () = redis::cmd("MSET")
                        .arg(format!("a{w}"))
                        .arg(i)
                        .arg(format!("b{w}"))
                        .arg(i)
                        .query(&mut c)
                        .unwrap();
                    i += 1;
                }
                i
            })
        })
        .collect();
    let mut c = srv.client();
    let t = Instant::now();
    let mut n = 0;
    while t.elapsed() < Duration::from_secs(2) {
        let dump: Vec<u8> = redis::cmd("BACKUP").query(&mut c).unwrap();
        let v: serde_json::Value = serde_json::from_slice(&dump).unwrap();
        let mut vals: HashMap<String, (String, u64)> = HashMap::new();
        for e in v["entries"].as_array().unwrap() {
            vals.insert(
                e["key"].as_str().unwrap().into(),
                (
                    e["value_base64"].as_str().unwrap().into(),
                    e["version"].as_u64().unwrap(),
                ),
            );
        }
        let seq = v["source_sequence"].as_u64().unwrap();
        for w in 0..3 {
            assert_eq!(
                vals.get(&format!("a{w}")),
                vals.get(&format!("b{w}")),
                "torn MSET in a backup"
            );
        }
        assert!(
            vals.values().all(|(_, ver)| *ver <= seq),
            "a version beyond the cut"
        );
        n += 1;
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let writes: u64 = writers.into_iter().map(|h| h.join().unwrap()).sum();
    assert!(n > 5 && writes > 100, "{n} backups, {writes} writes");
}

fn vm_hwm_kb(pid: u32) -> u64 {
    let s = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    s.lines()
        .find(|l| l.starts_with("VmHWM:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap()
}

/// `VAYLIX_BIG_TESTS=1 cargo test --release --test backup big_` : a ~1 GB dataset, streamed to a
/// file; reports the server's peak RSS before and after. Returns early when the flag is unset.
#[test]
fn big_streaming_backup_of_one_gigabyte() {
    if std::env::var("VAYLIX_BIG_TESTS").as_deref() != Ok("1") {
        return;
    }
    let srv = Server::start(&["--appendfsync", "no"]);
    let pid = srv.child.as_ref().unwrap().id();
    let mut c = srv.client();
    let value = vec![b'v'; 1 << 20];
    let keys = 1024;
    let t = Instant::now();
    for chunk in 0..keys / 32 {
        let mut p = redis::pipe();
        for i in 0..32 {
            p.cmd("SET")
                .arg(format!("big:{}", chunk * 32 + i))
                .arg(&value)
                .ignore();
        }
        let _: () = p.query(&mut c).unwrap();
    }
    // Let the WAL writer drain its backlog and take the snapshot the WAL volume asks for, so
    // the peak measured next is the backup's own.
    let _: redis::Value = redis::cmd("WAITAOF")
        .arg(1)
        .arg(0)
        .arg(0)
        .query(&mut c)
        .unwrap();
    while let Err(e) = redis::cmd("SAVE").query::<()>(&mut c) {
        assert!(e.to_string().contains("in progress"), "{e}");
        std::thread::sleep(Duration::from_millis(200));
    }
    let load_s = t.elapsed().as_secs_f64();
    let before = vm_hwm_kb(pid);
    let t = Instant::now();
    let w: Fields = redis::cmd("BACKUP")
        .arg("TO")
        .arg("big.json")
        .query(&mut c)
        .unwrap();
    let backup_s = t.elapsed().as_secs_f64();
    let after = vm_hwm_kb(pid);
    let bytes = int(&w, "byte_len") as u64;
    eprintln!(
        "BIG: {keys} x 1 MiB loaded (+WAITAOF+SAVE) in {load_s:.1}s; BACKUP TO wrote {bytes} bytes in {backup_s:.1}s ({:.0} MB/s); \
         VmHWM before {} MiB, after {} MiB (+{} MiB)",
        bytes as f64 / 1e6 / backup_s,
        before / 1024,
        after / 1024,
        (after - before) / 1024
    );
    assert!(bytes > 1_300_000_000, "base64 of 1 GiB");
    assert!(
        after - before < 200 * 1024,
        "the dump is streamed, not built in memory"
    );
    let t = Instant::now();
    let v: Fields = redis::cmd("BACKUP")
        .arg("VERIFY")
        .arg("FROM")
        .arg("big.json")
        .query(&mut c)
        .unwrap();
    eprintln!(
        "BIG: VERIFY FROM in {:.1}s; VmHWM {} MiB",
        t.elapsed().as_secs_f64(),
        vm_hwm_kb(pid) / 1024
    );
    assert_eq!(int(&v, "entries"), keys);
}
