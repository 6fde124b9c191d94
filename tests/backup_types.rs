//! Logical backups v2 with hashes and sets, end to end: RESTORE of hand-written dumps holding
//! every type (small, integer-only and big collections, TTLs, versions, several databases),
//! BACKUP giving the same entries back byte for byte, RESTORE CHECK refusals, kill -9 restarts,
//! `vaylix backup verify`, and the older string-only v2 and v1 dumps.
//!
//! Only BACKUP, TYPE, VERSION and PEXPIRETIME read the data back: the hash and set commands are
//! tested in their own suites.

mod common;

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use common::{backups, err_text, int, p, vaylix, version, Fields, Server};
use redis::Commands;
use std::path::Path;

/// One entry of a dump, as the test means it.
#[derive(Clone)]
struct Entry {
    db: u8,
    key: Vec<u8>,
    value: Val,
    version: u64,
    expires_at_ms: Option<u64>,
}

#[derive(Clone)]
enum Val {
    Str(Vec<u8>),
    Hash(Vec<(Vec<u8>, Vec<u8>)>),
    Set(Vec<Vec<u8>>),
}

impl Val {
    fn type_name(&self) -> &'static str {
        match self {
            Val::Str(_) => "string",
            Val::Hash(_) => "hash",
            Val::Set(_) => "set",
        }
    }
}

fn q(b: &[u8]) -> String {
    format!("\"{}\"", B64.encode(b))
}

/// The entry as one line of a v2 dump, in the writer's member order (docs/backup.md). With
/// `sorted` the fields and members are in byte order, as vaylix writes them; without, they are
/// reversed, which a restore must accept just the same.
fn line(e: &Entry, sorted: bool) -> String {
    let key = match std::str::from_utf8(&e.key) {
        Ok(k) => format!("\"key\":{}", serde_json::to_string(k).unwrap()),
        Err(_) => format!("\"key_base64\":{}", q(&e.key)),
    };
    let value = match &e.value {
        Val::Str(v) => format!("\"value_base64\":{}", q(v)),
        Val::Hash(pairs) => {
            let mut pairs = pairs.clone();
            pairs.sort();
            if !sorted {
                pairs.reverse();
            }
            let items: Vec<String> = pairs
                .iter()
                .map(|(f, v)| format!("[{},{}]", q(f), q(v)))
                .collect();
            format!("\"fields\":[{}]", items.join(","))
        }
        Val::Set(members) => {
            let mut members = members.clone();
            members.sort();
            if !sorted {
                members.reverse();
            }
            let items: Vec<String> = members.iter().map(|m| q(m)).collect();
            format!("\"members\":[{}]", items.join(","))
        }
    };
    let exp = match e.expires_at_ms {
        Some(x) => x.to_string(),
        None => "null".into(),
    };
    let db = if e.db == 0 {
        String::new()
    } else {
        format!(",\"db\":{}", e.db)
    };
    format!(
        "{{{key},\"type\":\"{}\",{value},\"version\":{},\"expires_at_ms\":{exp}{db}}}",
        e.value.type_name(),
        e.version
    )
}

/// The `"entries":[...]` part of a dump as vaylix writes it: sorted by (db, key), one a line.
fn entries_text(entries: &[Entry], sorted: bool) -> String {
    let mut es: Vec<&Entry> = entries.iter().collect();
    es.sort_by(|a, b| (a.db, &a.key).cmp(&(b.db, &b.key)));
    let lines: Vec<String> = es.iter().map(|e| line(e, sorted)).collect();
    format!("\"entries\":[\n{}\n]}}\n", lines.join(",\n"))
}

fn dump_text(entries: &[Entry], sorted: bool) -> String {
    let max = entries.iter().map(|e| e.version).max().unwrap_or(0);
    format!(
        "{{\"version\":2,\"created_at_ms\":1,\"source_engine_version\":\"test\",\"source_sequence\":{max},{}",
        entries_text(entries, sorted)
    )
}

/// The entries part of a `BACKUP` reply (the header holds the time and the sequence).
fn backup_entries(c: &mut redis::Connection) -> String {
    let dump: Vec<u8> = redis::cmd("BACKUP").query(c).unwrap();
    let text = String::from_utf8(dump).unwrap();
    let at = text.find("\"entries\":[").expect("entries in the dump");
    text[at..].to_string()
}

fn select(c: &mut redis::Connection, db: u8) {
    let _: () = redis::cmd("SELECT").arg(db).query(c).unwrap();
}

fn in_an_hour() -> u64 {
    common::now_ms() + 3_600_000
}

/// Every type and shape: small hashes and sets (listpack-sized), integer-only sets (intset
/// sized and past it), a 10,000-field hash and a 100,000-member set (hashtable, and more than
/// one snapshot batch), binary keys, fields, values and members, empty strings and values,
/// TTLs, several databases.
fn every_type() -> Vec<Entry> {
    let exp = in_an_hour();
    let e = |db, key: &[u8], value, version, expires_at_ms| Entry {
        db,
        key: key.to_vec(),
        value,
        version,
        expires_at_ms,
    };
    let pairs =
        |v: &[(&[u8], &[u8])]| Val::Hash(v.iter().map(|(f, x)| (f.to_vec(), x.to_vec())).collect());
    let members = |v: &[&[u8]]| Val::Set(v.iter().map(|m| m.to_vec()).collect());
    let big_hash = Val::Hash(
        (0..10_000u32)
            .map(|i| {
                let mut v = format!("value-{i}-").into_bytes();
                v.extend_from_slice(&i.to_le_bytes());
                (format!("field:{i:05}").into_bytes(), v)
            })
            .collect(),
    );
    let big_set = Val::Set(
        (0..100_000u32)
            .map(|i| format!("member:{i:06}").into_bytes())
            .collect(),
    );
    let ints = |n: i64| {
        Val::Set(
            (0..n)
                .map(|i| (i * 7 - 50).to_string().into_bytes())
                .collect(),
        )
    };
    vec![
        e(0, b"str", Val::Str(b"plain".to_vec()), 101, None),
        e(0, b"str:empty", Val::Str(Vec::new()), 102, Some(exp)),
        e(
            0,
            b"h:small",
            pairs(&[
                (b"name", b"vaylix"),
                (b"\x00bin\xff", b"\x01\x02\xfe"),
                (b"empty", b""),
            ]),
            103,
            None,
        ),
        e(0, b"h:ttl", pairs(&[(b"f", b"v")]), 104, Some(exp + 1)),
        e(
            0,
            b"h:long-value",
            pairs(&[(b"f", &[b'x'; 200]), (b"g", b"y")]),
            105,
            None,
        ),
        e(0, b"h:big", big_hash, 2_000, Some(exp + 2)),
        e(
            0,
            b"s:small",
            members(&[b"a", b"b", b"\xff\x00"]),
            106,
            None,
        ),
        e(
            0,
            b"s:ints",
            members(&[b"-7", b"0", b"12", b"300", b"65536"]),
            107,
            None,
        ),
        e(0, b"s:ints-ttl", ints(20), 108, Some(exp + 3)),
        e(0, b"s:ints-many", ints(600), 109, None),
        e(0, b"s:big", big_set, 3_000, None),
        e(0, b"\xfe\xff binary key", members(&[b"m"]), 110, None),
        e(3, b"h:small", pairs(&[(b"other", b"db")]), 111, None),
        e(3, b"str", Val::Str(b"db 3".to_vec()), 112, Some(exp + 4)),
        e(15, b"s:last", members(&[b"1", b"x"]), 113, Some(exp + 5)),
    ]
}

fn restore(c: &mut redis::Connection, dump: &str) -> Fields {
    redis::cmd("RESTORE").arg(dump).query(c).unwrap()
}

/// TYPE, VERSION and PEXPIRETIME of every entry, and DBSIZE of each database.
fn check_keys(c: &mut redis::Connection, want: &[Entry]) {
    for e in want {
        select(c, e.db);
        let ty: String = redis::cmd("TYPE").arg(&e.key).query(c).unwrap();
        assert_eq!(ty, e.value.type_name(), "TYPE of db {} {:?}", e.db, e.key);
        assert_eq!(
            version(c, &e.key),
            Some(e.version),
            "VERSION of {:?}",
            e.key
        );
        let at: i64 = redis::cmd("PEXPIRETIME").arg(&e.key).query(c).unwrap();
        assert_eq!(at, e.expires_at_ms.map_or(-1, |x| x as i64), "{:?}", e.key);
    }
    for db in [0u8, 3, 15] {
        select(c, db);
        let n: usize = redis::cmd("DBSIZE").query(c).unwrap();
        assert_eq!(n, want.iter().filter(|e| e.db == db).count(), "db {db}");
    }
    select(c, 0);
}

#[test]
fn restore_of_every_type_comes_back_from_backup_byte_exactly_and_survives_kill9() {
    let want = every_type();
    let mut srv = Server::start(&[]);
    let mut c = srv.client();
    let _: () = c.set("old", "gone after the restore").unwrap();
    // Reversed member order in: a restore takes any order, BACKUP writes byte order.
    let r = restore(&mut c, &dump_text(&want, false));
    assert_eq!(int(&r, "restored"), want.len() as i64);
    assert_eq!(int(&r, "skipped_expired"), 0);
    let seq = int(&r, "sequence") as u64;
    assert_eq!(
        seq, 3_001,
        "the baseline is past the largest restored version"
    );
    check_keys(&mut c, &want);
    let expected = entries_text(&want, true);
    let first = backup_entries(&mut c);
    assert!(
        first == expected,
        "BACKUP after RESTORE differs from the dump"
    );
    assert_eq!(backup_entries(&mut c), first, "two backups of one state");

    // The restore's baseline snapshot alone (header + member batches for the big ones).
    srv.kill9();
    let dir = srv.dir.clone();
    let mut srv = Server::start_in(&dir, &[]);
    let mut c = srv.client();
    check_keys(&mut c, &want);
    assert!(backup_entries(&mut c) == expected, "after kill -9");

    // A write after the restore goes to the WAL on top of the baseline.
    let _: () = c.set("after", "restore").unwrap();
    let v = version(&mut c, b"after").unwrap();
    assert!(v > seq, "{v} <= {seq}");
    let with_after = backup_entries(&mut c);
    srv.kill9();
    let mut srv = Server::start_in(&dir, &[]);
    let mut c = srv.client();
    assert!(
        backup_entries(&mut c) == with_after,
        "baseline + WAL after kill -9"
    );
    assert_eq!(version(&mut c, b"after"), Some(v));

    // A snapshot of the restored state, then kill -9 twice: nothing changes.
    let _: () = redis::cmd("SAVE").query(&mut c).unwrap();
    srv.kill9();
    let mut srv = Server::start_in(&dir, &[]);
    let mut c = srv.client();
    assert!(
        backup_entries(&mut c) == with_after,
        "after SAVE and kill -9"
    );
    srv.kill9();
    let srv = Server::start_in(&dir, &[]);
    let mut c = srv.client();
    assert!(backup_entries(&mut c) == with_after, "second restart");
    let mut rest = want.clone();
    rest.push(Entry {
        db: 0,
        key: b"after".to_vec(),
        value: Val::Str(b"restore".to_vec()),
        version: v,
        expires_at_ms: None,
    });
    check_keys(&mut c, &rest);
}

#[test]
fn restore_check_refuses_bad_collections_naming_the_entry_and_changes_nothing() {
    let srv = Server::start(&[]);
    let mut c = srv.client();
    let good = vec![
        Entry {
            db: 0,
            key: b"h".to_vec(),
            value: Val::Hash(vec![(b"f".to_vec(), b"v".to_vec())]),
            version: 5,
            expires_at_ms: None,
        },
        Entry {
            db: 0,
            key: b"s".to_vec(),
            value: Val::Set(vec![b"1".to_vec(), b"2".to_vec()]),
            version: 6,
            expires_at_ms: None,
        },
    ];
    restore(&mut c, &dump_text(&good, true));
    let before = backup_entries(&mut c);
    let ok = r#"{"key":"ok","type":"string","value_base64":"eA==","version":1}"#;
    let cases: &[(&str, &str)] = &[
        (
            r#"{"key":"h","type":"hash","fields":[["Zg==","MQ=="],["Zw==","Mg=="],["Zg==","Mw=="]],"version":2}"#,
            r#"entry 1: hash "h" has field Zg== twice (fields[0] and fields[2])"#,
        ),
        (
            r#"{"key":"s","type":"set","members":["YQ==","YQ=="],"version":2}"#,
            r#"entry 1: set "s" has member YQ== twice (members[0] and members[1])"#,
        ),
        (
            r#"{"key":"h","type":"hash","fields":[],"version":2}"#,
            r#"entry 1: hash "h" has no fields"#,
        ),
        (
            r#"{"key":"s","type":"set","members":[],"version":2}"#,
            r#"entry 1: set "s" has no members"#,
        ),
        (
            r#"{"key":"h","type":"hash","fields":[["Zg==","not base64!"]],"version":2}"#,
            r#"entry 1: hash "h": fields[0] value is not valid base64"#,
        ),
        (
            r#"{"key":"s","type":"set","members":["YQ==","%%"],"version":2}"#,
            r#"entry 1: set "s": members[1] is not valid base64"#,
        ),
        (
            r#"{"key":"z","type":"zset","members":["YQ=="],"version":2}"#,
            "entry 1: a zset entry has no 'members' (that member belongs to set entries)",
        ),
        (
            r#"{"key":"w","type":"widget","members":["YQ=="],"version":2}"#,
            "entry 1: unsupported type 'widget'",
        ),
        (
            r#"{"key":"h","type":"hash","version":2}"#,
            r#"entry 1: hash "h" has no 'fields'"#,
        ),
        (
            r#"{"key":"s","type":"set","version":2}"#,
            r#"entry 1: set "s" has no 'members'"#,
        ),
        (
            r#"{"key":"s","type":"set","members":["YQ=="]}"#,
            "entry 1: missing version",
        ),
        (
            r#"{"type":"set","members":["YQ=="],"version":2}"#,
            "entry 1: has no key",
        ),
        (
            r#"{"key":"h","type":"hash","value_base64":"eA==","version":2}"#,
            "entry 1: a hash entry has no 'value_base64'",
        ),
        (
            r#"{"key":"h","type":"hash","fields":[["Zg=="]],"version":2}"#,
            "entry 1: invalid length 1, expected a [field_base64, value_base64] pair",
        ),
        (
            r#"{"key":"s","type":"set","members":[1,2],"version":2}"#,
            "entry 1: invalid type: integer `1`, expected a base64 string",
        ),
        (
            r#"{"key":"ok","type":"set","members":["YQ=="],"version":2}"#,
            "entry 1: duplicate key in db 0",
        ),
    ];
    for (entry, want) in cases {
        let dump = format!(r#"{{"version":2,"entries":[{ok},{entry}]}}"#);
        for form in [
            &["RESTORE"][..],
            &["RESTORE", "CHECK"],
            &["BACKUP", "VERIFY"],
        ] {
            let mut cmd = redis::cmd(form[0]);
            cmd.arg(&form[1..]).arg(&dump);
            let e = err_text(cmd.query::<Fields>(&mut c));
            assert!(
                e.starts_with("ERR invalid backup: ") && e.contains(want),
                "{form:?} {entry}: {e}"
            );
        }
    }
    let e = err_text(
        redis::cmd("RESTORE")
            .arg(r#"{"version":1,"entries":[{"key":"s","type":"set","members":["YQ=="]}]}"#)
            .query::<Fields>(&mut c),
    );
    assert!(e.contains("entry 0: type 'set' needs a v2 dump"), "{e}");
    assert!(
        backup_entries(&mut c) == before,
        "a refused dump changes nothing"
    );
    assert_eq!(version(&mut c, b"h"), Some(5));
}

/// `BACKUP TO` of every type: the sidecar's digest covers the collections (a flipped byte in a
/// member is caught), `BACKUP VERIFY FROM`, `RESTORE CHECK FROM` and the offline
/// `vaylix backup verify` count keys per type, and `RESTORE FROM` brings the same state back.
#[test]
fn files_with_collections_are_verified_by_their_manifest_and_counted_by_type() {
    let want = every_type();
    let srv = Server::start(&[]);
    let mut c = srv.client();
    restore(&mut c, &dump_text(&want, true));
    let expected = entries_text(&want, true);
    let w: Fields = redis::cmd("BACKUP")
        .arg("TO")
        .arg("all.json")
        .query(&mut c)
        .unwrap();
    assert_eq!(int(&w, "entries"), want.len() as i64);
    let dir = backups(&srv);
    let file = dir.join("all.json");
    let body = std::fs::read(&file).unwrap();
    assert!(
        String::from_utf8(body.clone())
            .unwrap()
            .ends_with(&expected),
        "the file holds what BACKUP returns"
    );
    let count = |ty: &str| want.iter().filter(|e| e.value.type_name() == ty).count() as i64;
    for form in [
        &["BACKUP", "VERIFY", "FROM"][..],
        &["RESTORE", "CHECK", "FROM"],
    ] {
        let mut cmd = redis::cmd(form[0]);
        cmd.arg(&form[1..]).arg("all.json");
        let v: Fields = cmd.query(&mut c).unwrap();
        assert_eq!(int(&v, "manifest_checked"), 1);
        assert_eq!(int(&v, "entries"), want.len() as i64);
        let types: std::collections::HashMap<String, i64> =
            redis::from_redis_value(v.get("types").unwrap().clone()).unwrap();
        assert_eq!(types["string"], count("string"), "{form:?}");
        assert_eq!(types["hash"], count("hash"));
        assert_eq!(types["set"], count("set"));
        assert_eq!(types["zset"], count("zset"));
        assert_eq!(types["list"], count("list"));
        assert_eq!(types.len(), 5);
    }
    let (code, out, err) = vaylix(&["backup", "verify", p(&file)]);
    assert_eq!(code, 0, "{out}{err}");
    let by_type = format!(
        "keys by type: {} string, {} hash, {} set, {} zset",
        count("string"),
        count("hash"),
        count("set"),
        count("zset")
    );
    assert!(
        out.contains(&by_type) && out.contains("matches its manifest"),
        "{out}"
    );
    let (code, out, _) = vaylix(&["backup", "verify", p(&file), "--json"]);
    assert_eq!(code, 0);
    let j: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
    assert_eq!(j["types"]["hash"], count("hash"));
    assert_eq!(j["types"]["set"], count("set"));
    assert_eq!(j["types"]["string"], count("string"));

    // One byte of the big set's member list changed: the manifest catches it.
    let at = body
        .windows(8)
        .rposition(|w| w == b"bWVtYmVy")
        .expect("a member of s:big");
    let mut bad = body.clone();
    bad[at] = b'c';
    let side = std::fs::read(dir.join("all.json.manifest.json")).unwrap();
    std::fs::write(dir.join("flipped.json"), &bad).unwrap();
    std::fs::write(dir.join("flipped.json.manifest.json"), &side).unwrap();
    for form in [&["RESTORE", "FROM"][..], &["RESTORE", "CHECK", "FROM"]] {
        let mut cmd = redis::cmd(form[0]);
        cmd.arg(&form[1..]).arg("flipped.json");
        let e = err_text(cmd.query::<Fields>(&mut c));
        assert!(e.contains("digest mismatch"), "{e}");
    }
    let (code, _, err) = vaylix(&["backup", "verify", p(&dir.join("flipped.json"))]);
    assert_eq!(code, 1);
    assert!(err.contains("digest mismatch"), "{err}");

    // RESTORE FROM over a changed keyspace brings the backed-up state back.
    let _: () = redis::cmd("FLUSHALL").query(&mut c).unwrap();
    let _: () = c.set("other", "x").unwrap();
    let r: Fields = redis::cmd("RESTORE")
        .arg("FROM")
        .arg("all.json")
        .query(&mut c)
        .unwrap();
    assert_eq!(int(&r, "restored"), want.len() as i64);
    assert!(backup_entries(&mut c) == expected);
    check_keys(&mut c, &want);
}

fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/backup")
            .join(name),
    )
    .unwrap()
}

#[test]
fn string_only_v2_and_v1_dumps_still_restore_and_back_up_as_strings() {
    let srv = Server::start(&[]);
    let mut c = srv.client();
    let r: Fields = redis::cmd("RESTORE")
        .arg(fixture("original-v2.json"))
        .query(&mut c)
        .unwrap();
    assert_eq!(int(&r, "restored"), 3);
    assert_eq!(
        backup_entries(&mut c),
        concat!(
            "\"entries\":[\n",
            r#"{"key":"greeting","type":"string","value_base64":"aGVsbG8=","version":4100,"expires_at_ms":null},"#,
            "\n",
            r#"{"key_base64":"//4=","type":"string","value_base64":"AP8=","version":4200,"expires_at_ms":4102444800000,"db":2},"#,
            "\n",
            r#"{"key":"café","type":"string","value_base64":"d29ybGQ=","version":4242,"expires_at_ms":null,"db":15}"#,
            "\n]}\n"
        )
    );
    let chk: Fields = redis::cmd("BACKUP")
        .arg("VERIFY")
        .arg(fixture("original-v2.json"))
        .query(&mut c)
        .unwrap();
    let types: std::collections::HashMap<String, i64> =
        redis::from_redis_value(chk.get("types").unwrap().clone()).unwrap();
    assert_eq!(
        (types["string"], types["hash"], types["set"]),
        (4, 0, 0),
        "keys per type, expired ones included like 'entries'"
    );

    let r: Fields = redis::cmd("RESTORE")
        .arg(fixture("v1.json"))
        .query(&mut c)
        .unwrap();
    assert_eq!(int(&r, "restored"), 3);
    let seq = int(&r, "sequence") as u64;
    let ty: String = redis::cmd("TYPE").arg("a").query(&mut c).unwrap();
    assert_eq!(ty, "string");
    assert_eq!(c.get::<_, String>("a").unwrap(), "alpha");
    assert_eq!(version(&mut c, b"a"), Some(seq));
    let text = backup_entries(&mut c);
    assert!(
        text.contains(&format!(
            r#"{{"key":"a","type":"string","value_base64":"YWxwaGE=","version":{seq},"expires_at_ms":null}}"#
        )),
        "{text}"
    );
}
