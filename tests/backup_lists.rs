//! Lists in logical backups: `BACKUP` writes `"type":"list","elements":[b64...]` in list
//! order (head first); `RESTORE` brings every list back exactly (order, repeats, empty and
//! binary elements, big lists, TTLs, versions, databases) and a kill -9 after it keeps them;
//! `RESTORE CHECK` refuses a list entry with no `elements`, empty `elements`, bad base64 or
//! another type's member, naming the entry; `BACKUP VERIFY`, `RESTORE CHECK` and `vaylix
//! backup verify` count lists.

mod common;

use base64::Engine;
use common::{backups, err_text, int, p, vaylix, version, Fields, Server};

type E = Vec<u8>;

fn select(c: &mut redis::Connection, db: u8) {
    let _: () = redis::cmd("SELECT").arg(db).query(c).unwrap();
}

fn b64(b: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(b)
}

/// The lists the tests back up: (db, key, elements, expiry offset in ms or none).
fn lists() -> Vec<(u8, E, Vec<E>, Option<i64>)> {
    let big: Vec<E> = (0..3000).map(|i| format!("job:{i}").into_bytes()).collect();
    vec![
        (
            0,
            b"queue".to_vec(),
            vec![
                b"c".to_vec(),
                b"a".to_vec(),
                b"b".to_vec(),
                b"a".to_vec(),
                Vec::new(),
            ],
            None,
        ),
        (0, b"big".to_vec(), big, Some(80_000_000)),
        (
            0,
            b"\xfe\xffbin".to_vec(),
            vec![b"\x00\xff\r\n".to_vec(), b"x".to_vec()],
            Some(90_000_000),
        ),
        (1, b"queue".to_vec(), vec![b"db1".to_vec()], None),
    ]
}

fn build(c: &mut redis::Connection) {
    for (db, key, elements, ttl) in lists() {
        select(c, db);
        for part in elements.chunks(500) {
            let _: i64 = redis::cmd("RPUSH").arg(&key).arg(part).query(c).unwrap();
        }
        if let Some(ms) = ttl {
            let _: i64 = redis::cmd("PEXPIRE").arg(&key).arg(ms).query(c).unwrap();
        }
    }
    select(c, 0);
    // A string next to them, and a list changed after creation (LSET, LPOP, LINSERT).
    let _: () = redis::cmd("SET").arg("s").arg("v").query(c).unwrap();
    let _: i64 = redis::cmd("RPUSH")
        .arg("changed")
        .arg(&["1", "2", "3"])
        .query(c)
        .unwrap();
    let _: String = redis::cmd("LSET")
        .arg("changed")
        .arg(-1)
        .arg("three")
        .query(c)
        .unwrap();
    let _: Option<E> = redis::cmd("LPOP").arg("changed").query(c).unwrap();
    let _: i64 = redis::cmd("LINSERT")
        .arg("changed")
        .arg("BEFORE")
        .arg("2")
        .arg("1.5")
        .query(c)
        .unwrap();
}

/// (db, key, elements, PEXPIRETIME, VERSION) of one key.
type Seen = (u8, E, Vec<E>, i64, Option<u64>);

/// Everything a client sees of the keys.
fn seen(c: &mut redis::Connection) -> Vec<Seen> {
    let mut out = Vec::new();
    for db in [0u8, 1] {
        select(c, db);
        let mut keys = common::all_keys(c);
        keys.sort();
        for k in keys {
            let t: String = redis::cmd("TYPE").arg(&k).query(c).unwrap();
            let el: Vec<E> = if t == "list" {
                redis::cmd("LRANGE")
                    .arg(&k)
                    .arg(0)
                    .arg(-1)
                    .query(c)
                    .unwrap()
            } else {
                vec![redis::cmd("GET").arg(&k).query(c).unwrap()]
            };
            let at: i64 = redis::cmd("PEXPIRETIME").arg(&k).query(c).unwrap();
            let v = version(c, &k);
            out.push((db, k, el, at, v));
        }
    }
    select(c, 0);
    out
}

fn entries_part(dump: &str) -> &str {
    &dump[dump.find("\"entries\":[").unwrap()..]
}

#[test]
fn lists_back_up_in_order_restore_exactly_and_survive_kill9() {
    let a = Server::start(&[]);
    let mut c = a.client();
    build(&mut c);
    let want = seen(&mut c);
    let dump: String = redis::cmd("BACKUP").query(&mut c).unwrap();
    // The wire form: type list, elements head first, base64.
    let queue = format!(
        "{{\"key\":\"queue\",\"type\":\"list\",\"elements\":[\"{}\",\"{}\",\"{}\",\"{}\",\"\"],",
        b64(b"c"),
        b64(b"a"),
        b64(b"b"),
        b64(b"a")
    );
    assert!(dump.contains(&queue), "{}", &dump[..dump.len().min(600)]);
    let changed = format!(
        "\"key\":\"changed\",\"type\":\"list\",\"elements\":[\"{}\",\"{}\",\"{}\"]",
        b64(b"1.5"),
        b64(b"2"),
        b64(b"three")
    );
    assert!(dump.contains(&changed), "LSET/LPOP/LINSERT order");
    assert!(dump.contains(&format!(
        "\"key_base64\":\"{}\",\"type\":\"list\"",
        b64(b"\xfe\xffbin")
    )));
    let v: Fields = redis::cmd("BACKUP")
        .arg("VERIFY")
        .arg(&dump)
        .query(&mut c)
        .unwrap();
    let types: std::collections::HashMap<String, i64> =
        redis::from_redis_value(v.get("types").unwrap().clone()).unwrap();
    assert_eq!(types["list"], 5, "{types:?}");
    assert_eq!(types["string"], 1);
    assert_eq!(types.len(), 5);

    // Into another server: the same lists, versions and expiries, and the same dump.
    let mut b = Server::start(&["--appendfsync", "always"]);
    let mut d = b.client();
    let _: () = redis::cmd("SET")
        .arg("old")
        .arg("gone")
        .query(&mut d)
        .unwrap();
    let chk: Fields = redis::cmd("RESTORE")
        .arg("CHECK")
        .arg(&dump)
        .query(&mut d)
        .unwrap();
    assert_eq!(int(&chk, "entries"), 6);
    let r: Fields = redis::cmd("RESTORE").arg(&dump).query(&mut d).unwrap();
    assert_eq!(int(&r, "restored"), 6);
    assert_eq!(seen(&mut d), want);
    let enc: String = redis::cmd("OBJECT")
        .arg("ENCODING")
        .arg("big")
        .query(&mut d)
        .unwrap();
    assert_eq!(enc, "quicklist");
    let again: String = redis::cmd("BACKUP").query(&mut d).unwrap();
    assert_eq!(entries_part(&again), entries_part(&dump));
    // Restored lists are durable and writable: kill -9 after a pop of the restored queue.
    let got: Option<E> = redis::cmd("LPOP").arg("queue").query(&mut d).unwrap();
    assert_eq!(got.as_deref(), Some(&b"c"[..]));
    drop(d);
    b.kill9();
    b.spawn();
    let mut d = b.client();
    let q: Vec<E> = redis::cmd("LRANGE")
        .arg("queue")
        .arg(0)
        .arg(-1)
        .query(&mut d)
        .unwrap();
    assert_eq!(
        q,
        vec![b"a".to_vec(), b"b".to_vec(), b"a".to_vec(), Vec::new()]
    );
    let after: Vec<_> = seen(&mut d)
        .into_iter()
        .filter(|k| !(k.0 == 0 && k.1 == b"queue"))
        .collect();
    let before: Vec<_> = want
        .into_iter()
        .filter(|k| !(k.0 == 0 && k.1 == b"queue"))
        .collect();
    assert_eq!(after, before, "after kill -9");
}

fn one(entry: &str) -> String {
    format!(
        "{{\"version\":2,\"entries\":[{{\"key\":\"ok\",\"type\":\"list\",\"elements\":[\"YQ==\"],\"version\":1}},\n{entry}\n]}}"
    )
}

#[test]
fn restore_check_refuses_bad_list_entries_naming_the_entry_and_changes_nothing() {
    let srv = Server::start(&[]);
    let mut c = srv.client();
    let _: i64 = redis::cmd("RPUSH")
        .arg("keep")
        .arg("me")
        .query(&mut c)
        .unwrap();
    let cases = [
        (
            r#"{"key":"l","type":"list","version":2}"#,
            r#"entry 1: list "l" has no 'elements'"#,
        ),
        (
            r#"{"key":"l","type":"list","elements":[],"version":2}"#,
            r#"entry 1: list "l" has no elements (an empty list is no key; leave the entry out)"#,
        ),
        (
            r#"{"key":"l","type":"list","elements":["YQ==","@@"],"version":2}"#,
            r#"entry 1: list "l": elements[1] is not valid base64"#,
        ),
        (
            r#"{"key":"l","type":"list","elements":["YQ=="],"members":["YQ=="],"version":2}"#,
            "entry 1: a list entry has no 'members' (that member belongs to set entries)",
        ),
        (
            r#"{"key":"l","type":"list","value_base64":"YQ==","version":2}"#,
            "entry 1: a list entry has no 'value_base64'",
        ),
        (
            r#"{"key":"s","type":"set","elements":["YQ=="],"version":2}"#,
            "entry 1: a set entry has no 'elements' (that member belongs to list entries)",
        ),
        (
            r#"{"key":"l","type":"list","elements":[5],"version":2}"#,
            "entry 1: invalid type: integer `5`",
        ),
        (
            r#"{"key":"l","type":"list","elements":"YQ==","version":2}"#,
            "entry 1: invalid type: string",
        ),
        (
            r#"{"key":"l","type":"list","elements":["YQ=="]}"#,
            "entry 1: missing version",
        ),
    ];
    for (entry, want) in cases {
        let dump = one(entry);
        for form in [
            &["RESTORE", "CHECK"][..],
            &["RESTORE"],
            &["BACKUP", "VERIFY"],
        ] {
            let mut cmd = redis::cmd(form[0]);
            cmd.arg(&form[1..]).arg(&dump);
            let e = err_text(cmd.query::<Fields>(&mut c));
            assert!(e.contains(want), "{form:?} {entry}: {e}");
        }
    }
    // Nothing changed.
    let keys = common::all_keys(&mut c);
    assert_eq!(keys, vec![b"keep".to_vec()]);
    let l: Vec<E> = redis::cmd("LRANGE")
        .arg("keep")
        .arg(0)
        .arg(-1)
        .query(&mut c)
        .unwrap();
    assert_eq!(l, vec![b"me".to_vec()]);
    // Repeated elements are a list's right (not a "twice" error as in a set).
    let ok = one(r#"{"key":"l","type":"list","elements":["YQ==","YQ==",""],"version":2}"#);
    let r: Fields = redis::cmd("RESTORE").arg(&ok).query(&mut c).unwrap();
    assert_eq!(int(&r, "restored"), 2);
    let l: Vec<E> = redis::cmd("LRANGE")
        .arg("l")
        .arg(0)
        .arg(-1)
        .query(&mut c)
        .unwrap();
    assert_eq!(l, vec![b"a".to_vec(), b"a".to_vec(), Vec::new()]);
}

#[test]
fn backup_files_with_lists_are_verified_offline_and_counted() {
    let srv = Server::start(&[]);
    let mut c = srv.client();
    build(&mut c);
    let w: Fields = redis::cmd("BACKUP")
        .arg("TO")
        .arg("lists.json")
        .query(&mut c)
        .unwrap();
    assert_eq!(int(&w, "entries"), 6);
    let v: Fields = redis::cmd("RESTORE")
        .arg("CHECK")
        .arg("FROM")
        .arg("lists.json")
        .query(&mut c)
        .unwrap();
    assert_eq!(int(&v, "manifest_checked"), 1);
    let file = backups(&srv).join("lists.json");
    let (code, out, err) = vaylix(&["backup", "verify", p(&file)]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(
        out.contains("keys by type: 1 string, 0 hash, 0 set, 0 zset, 5 list")
            && out.contains("matches its manifest"),
        "{out}"
    );
    let (code, out, _) = vaylix(&["backup", "verify", p(&file), "--json"]);
    assert_eq!(code, 0);
    let j: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
    assert_eq!(j["types"]["list"], 5, "{j}");
    assert_eq!(j["types"]["string"], 1);
    // A list element's base64 broken in the file (sidecar rewritten to match): refused offline
    // naming the entry.
    let body = std::fs::read_to_string(&file).unwrap();
    let bad = body.replacen(&format!("\"{}\"", b64(b"job:7")), "\"@@\"", 1);
    assert_ne!(bad, body);
    let bad_file = backups(&srv).join("bad.json");
    std::fs::write(&bad_file, &bad).unwrap();
    let (code, _, err) = vaylix(&["backup", "verify", p(&bad_file)]);
    assert_eq!(code, 1);
    assert!(
        err.contains("list \"big\": elements[7] is not valid base64"),
        "{err}"
    );
}
