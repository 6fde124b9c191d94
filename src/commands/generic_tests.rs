//! Generic commands over every kind of value, on an in-memory server (no storage): each test
//! dispatches real commands as a connection would and compares the reply bytes with what
//! redis-server 7.0.15 answers. Hashes and sets are made through the keyspace's write path
//! (the one HSET and SADD use), so these tests do not depend on the hash and set commands.

use crate::config::Config;
use crate::keyspace::{Keyspace, Value};
use crate::resp::ReplyWriter;
use crate::server::{dispatch, ConnState, Shared};
use bytes::Bytes;
use std::sync::Arc;

const WRONGTYPE: &str = "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n";

struct Rig {
    shared: Arc<Shared>,
    conn: ConnState,
    out: ReplyWriter,
}

impl Rig {
    fn new() -> Rig {
        let shared = Shared::new(
            Arc::new(Config::default()),
            Arc::new(Keyspace::new(16)),
            None,
        )
        .into_arc();
        let conn = Rig::client(&shared);
        Rig {
            shared,
            conn,
            out: ReplyWriter::new(),
        }
    }

    fn client(shared: &Arc<Shared>) -> ConnState {
        let addr = "127.0.0.1:1".parse().unwrap();
        ConnState::new(shared.clients.register(addr, addr), true)
    }

    /// Runs one command on the rig's client and returns the reply as the client reads it.
    fn ask(&mut self, argv: &[&str]) -> String {
        ask_as(&self.shared, &mut self.conn, &mut self.out, argv)
    }

    fn hset(&self, db: u8, key: &str, pairs: &[(&str, &str)]) {
        let ks = &self.shared.keyspace;
        let mut l = ks.lock_keys(std::iter::once(key.as_bytes()));
        let pairs = pairs
            .iter()
            .map(|(f, v)| (Bytes::from(f.to_string()), Bytes::from(v.to_string())))
            .collect();
        l.hash_set(db, key.as_bytes(), pairs, super::now_ms())
            .unwrap();
    }

    fn sadd(&self, db: u8, key: &str, members: &[&str]) {
        let ks = &self.shared.keyspace;
        let mut l = ks.lock_keys(std::iter::once(key.as_bytes()));
        let members: Vec<Bytes> = members.iter().map(|m| Bytes::from(m.to_string())).collect();
        l.set_add(db, key.as_bytes(), &members, super::now_ms())
            .unwrap();
    }

    /// The whole value under `key` in `db`, members sorted (collections have no order).
    fn value(&self, db: u8, key: &str) -> Option<Value> {
        let ks = &self.shared.keyspace;
        let mut l = ks.lock_keys(std::iter::once(key.as_bytes()));
        let v = l.get(db, key.as_bytes(), super::now_ms())?.to_value();
        Some(match v {
            Value::Hash(mut p) => {
                p.sort();
                Value::Hash(p)
            }
            Value::Set(mut m) => {
                m.sort();
                Value::Set(m)
            }
            s => s,
        })
    }

    fn version(&mut self, key: &str) -> i64 {
        let r = self.ask(&["VERSION", key]);
        r.trim_start_matches(':').trim_end().parse().unwrap()
    }
}

fn ask_as(shared: &Shared, conn: &mut ConnState, out: &mut ReplyWriter, argv: &[&str]) -> String {
    let argv: Vec<Bytes> = argv.iter().map(|a| Bytes::from(a.to_string())).collect();
    dispatch(shared, conn, out, &argv);
    String::from_utf8_lossy(&out.buf.split()).into_owned()
}

fn bulk(v: &str) -> String {
    format!("${}\r\n{v}\r\n", v.len())
}

fn hash(pairs: &[(&str, &str)]) -> Value {
    let mut p: Vec<(Bytes, Bytes)> = pairs
        .iter()
        .map(|(f, v)| (Bytes::from(f.to_string()), Bytes::from(v.to_string())))
        .collect();
    p.sort();
    Value::Hash(p)
}

fn set(members: &[&str]) -> Value {
    let mut m: Vec<Bytes> = members.iter().map(|m| Bytes::from(m.to_string())).collect();
    m.sort();
    Value::Set(m)
}

fn rig_with_types() -> Rig {
    let mut r = Rig::new();
    r.hset(0, "h", &[("f", "v")]);
    r.sadd(0, "s", &["1", "2"]);
    r.sadd(0, "t", &["a"]);
    assert_eq!(r.ask(&["SET", "str", "12345"]), "+OK\r\n");
    r
}

#[test]
fn type_names_every_kind_and_scan_type_filters_by_the_kind_tag() {
    let mut r = rig_with_types();
    assert_eq!(r.ask(&["TYPE", "h"]), "+hash\r\n");
    assert_eq!(r.ask(&["TYPE", "s"]), "+set\r\n");
    assert_eq!(r.ask(&["TYPE", "str"]), "+string\r\n");
    assert_eq!(r.ask(&["TYPE", "nosuch"]), "+none\r\n");
    // Redis compares the type name case-insensitively; an unknown one matches nothing.
    let scan = |r: &mut Rig, t: &str| r.ask(&["SCAN", "0", "TYPE", t, "COUNT", "1000"]);
    assert_eq!(scan(&mut r, "HASH"), "*2\r\n$1\r\n0\r\n*1\r\n$1\r\nh\r\n");
    let sets = scan(&mut r, "set");
    assert!(sets.starts_with("*2\r\n$1\r\n0\r\n*2\r\n"), "{sets}");
    assert!(
        sets.contains("$1\r\ns\r\n") && sets.contains("$1\r\nt\r\n"),
        "{sets}"
    );
    assert_eq!(
        scan(&mut r, "string"),
        "*2\r\n$1\r\n0\r\n*1\r\n$3\r\nstr\r\n"
    );
    assert_eq!(scan(&mut r, "nosuch"), "*2\r\n$1\r\n0\r\n*0\r\n");
    assert_eq!(r.ask(&["SCAN", "0", "TYPE"]), "-ERR syntax error\r\n");
}

#[test]
fn del_unlink_exists_touch_and_randomkey_see_collections() {
    let mut r = rig_with_types();
    assert_eq!(r.ask(&["EXISTS", "h", "s", "t", "str", "x"]), ":4\r\n");
    assert_eq!(r.ask(&["TOUCH", "h", "s"]), ":2\r\n");
    assert_eq!(r.ask(&["DEL", "h", "x"]), ":1\r\n");
    assert_eq!(r.ask(&["UNLINK", "s", "t"]), ":2\r\n");
    assert_eq!(r.ask(&["EXISTS", "h", "s", "t"]), ":0\r\n");
    assert_eq!(r.value(0, "h"), None);
    assert_eq!(r.ask(&["DEL", "str"]), ":1\r\n");
    r.sadd(0, "only", &["m"]);
    for _ in 0..5 {
        assert_eq!(r.ask(&["RANDOMKEY"]), bulk("only"));
    }
}

#[test]
fn every_string_command_answers_wrongtype_on_a_hash_or_set_as_redis_does() {
    let mut r = rig_with_types();
    for key in ["h", "s"] {
        let cases: &[(&[&str], &str)] = &[
            (&["GET", key], WRONGTYPE),
            (&["GETSET", key, "x"], WRONGTYPE),
            (&["GETDEL", key], WRONGTYPE),
            (&["GETEX", key], WRONGTYPE),
            (&["GETEX", key, "PERSIST"], WRONGTYPE),
            // The key is looked up before the expiry's number is read.
            (&["GETEX", key, "EX", "abc"], WRONGTYPE),
            (&["GETEX", key, "foo"], "-ERR syntax error\r\n"),
            (&["APPEND", key, "x"], WRONGTYPE),
            (&["STRLEN", key], WRONGTYPE),
            (&["GETRANGE", key, "0", "1"], WRONGTYPE),
            (
                &["GETRANGE", key, "a", "1"],
                "-ERR value is not an integer or out of range\r\n",
            ),
            (&["SUBSTR", key, "0", "1"], WRONGTYPE),
            (&["SETRANGE", key, "0", "x"], WRONGTYPE),
            (
                &["SETRANGE", key, "-1", "x"],
                "-ERR offset is out of range\r\n",
            ),
            (&["INCR", key], WRONGTYPE),
            (&["DECR", key], WRONGTYPE),
            (&["INCRBY", key, "2"], WRONGTYPE),
            (
                &["INCRBY", key, "x"],
                "-ERR value is not an integer or out of range\r\n",
            ),
            (&["DECRBY", key, "2"], WRONGTYPE),
            (&["INCRBYFLOAT", key, "1"], WRONGTYPE),
            // INCRBYFLOAT checks the type before the increment.
            (&["INCRBYFLOAT", key, "x"], WRONGTYPE),
            (&["SET", key, "x", "GET"], WRONGTYPE),
            (&["SET", key, "x", "NX", "GET"], WRONGTYPE),
            // Existence only: the value's kind does not matter.
            (&["SETNX", key, "x"], ":0\r\n"),
            (&["SET", key, "x", "NX"], "$-1\r\n"),
            (&["MSETNX", key, "x", "fresh", "y"], ":0\r\n"),
            (
                &["SETEX", key, "-1", "x"],
                "-ERR invalid expire time in 'setex' command\r\n",
            ),
            (
                &["PSETEX", key, "0", "x"],
                "-ERR invalid expire time in 'psetex' command\r\n",
            ),
        ];
        for (argv, want) in cases {
            assert_eq!(&r.ask(argv), want, "{argv:?}");
        }
        assert_eq!(r.ask(&["EXISTS", "fresh"]), ":0\r\n");
    }
    // Nothing above changed the collections.
    assert_eq!(r.value(0, "h"), Some(hash(&[("f", "v")])));
    assert_eq!(r.value(0, "s"), Some(set(&["1", "2"])));
    // MGET answers nil for a key of another kind.
    assert_eq!(
        r.ask(&["MGET", "h", "str", "s", "nosuch"]),
        "*4\r\n$-1\r\n$5\r\n12345\r\n$-1\r\n$-1\r\n"
    );
}

#[test]
fn set_and_its_cas_replace_a_collection_with_a_string() {
    let mut r = rig_with_types();
    assert_eq!(r.ask(&["EXPIRE", "h", "100"]), ":1\r\n");
    let v = r.version("h");
    // A CAS with the wrong version changes nothing.
    assert_eq!(
        r.ask(&["SET", "h", "x", "IF", "VERSION", &(v + 1).to_string()]),
        "$-1\r\n"
    );
    assert_eq!(r.ask(&["TYPE", "h"]), "+hash\r\n");
    // KEEPTTL keeps the hash's TTL on the string that replaces it (as in Redis).
    assert_eq!(
        r.ask(&["SET", "h", "x", "IF", "VERSION", &v.to_string(), "KEEPTTL"]),
        "+OK\r\n"
    );
    assert_eq!(r.ask(&["GET", "h"]), bulk("x"));
    assert!(r.version("h") > v);
    assert!(r.ask(&["TTL", "h"]).starts_with(":"));
    assert_ne!(r.ask(&["TTL", "h"]), ":-1\r\n");
    // A plain SET replaces a set and drops its TTL.
    assert_eq!(r.ask(&["EXPIRE", "s", "100"]), ":1\r\n");
    assert_eq!(r.ask(&["SET", "s", "y"]), "+OK\r\n");
    assert_eq!(
        (r.ask(&["TYPE", "s"]), r.ask(&["TTL", "s"])),
        ("+string\r\n".into(), ":-1\r\n".into())
    );
    // SET XX on a set: it exists.
    assert_eq!(r.ask(&["SET", "t", "z", "XX"]), "+OK\r\n");
    assert_eq!(r.ask(&["GET", "t"]), bulk("z"));
    // GETSET / APPEND / INCR refused above; MSET replaces.
    r.hset(0, "h2", &[("a", "b")]);
    assert_eq!(r.ask(&["MSET", "h2", "w"]), "+OK\r\n");
    assert_eq!(r.ask(&["GET", "h2"]), bulk("w"));
}

#[test]
fn version_works_on_every_kind_and_every_write_bumps_it() {
    let mut r = rig_with_types();
    let v1 = r.version("h");
    assert!(v1 > 0);
    r.hset(0, "h", &[("g", "w")]);
    let v2 = r.version("h");
    assert!(v2 > v1);
    assert_eq!(r.ask(&["PEXPIRE", "h", "100000"]), ":1\r\n");
    let v3 = r.version("h");
    assert!(v3 > v2);
    let s1 = r.version("s");
    r.sadd(0, "s", &["1"]); // already a member: nothing changes, the version stays
    assert_eq!(r.version("s"), s1);
    assert_eq!(r.ask(&["VERSION", "nosuch"]), "$-1\r\n");
}

#[test]
fn rename_copy_and_move_carry_the_whole_collection_its_ttl_and_a_new_version() {
    let mut r = rig_with_types();
    r.hset(0, "h", &[("g", "w")]);
    assert_eq!(r.ask(&["PEXPIRE", "h", "500000"]), ":1\r\n");
    let v = r.version("h");
    // RENAME over a string of another kind.
    assert_eq!(r.ask(&["RENAME", "h", "str"]), "+OK\r\n");
    assert_eq!(r.ask(&["EXISTS", "h"]), ":0\r\n");
    assert_eq!(r.value(0, "str"), Some(hash(&[("f", "v"), ("g", "w")])));
    assert!(r.version("str") > v);
    let ttl: i64 = r
        .ask(&["PTTL", "str"])
        .trim_start_matches(':')
        .trim_end()
        .parse()
        .unwrap();
    assert!(ttl > 400_000 && ttl <= 500_000, "{ttl}");
    // RENAMENX onto an existing key of another kind refuses; onto a free name moves.
    assert_eq!(r.ask(&["RENAMENX", "str", "s"]), ":0\r\n");
    assert_eq!(r.ask(&["RENAMENX", "s", "s2"]), ":1\r\n");
    assert_eq!(r.value(0, "s2"), Some(set(&["1", "2"])));
    assert_eq!(r.ask(&["RENAME", "nosuch", "x"]), "-ERR no such key\r\n");
    // COPY: same db, then refused without REPLACE, then REPLACE, then another db.
    assert_eq!(r.ask(&["COPY", "str", "c"]), ":1\r\n");
    assert_eq!(r.value(0, "c"), r.value(0, "str"));
    assert_ne!(r.ask(&["PTTL", "c"]), ":-1\r\n");
    assert_eq!(r.ask(&["COPY", "s2", "c"]), ":0\r\n");
    assert_eq!(r.ask(&["COPY", "s2", "c", "REPLACE"]), ":1\r\n");
    assert_eq!(r.value(0, "c"), Some(set(&["1", "2"])));
    assert_eq!(r.ask(&["TYPE", "c"]), "+set\r\n");
    assert_eq!(r.ask(&["COPY", "s2", "c", "DB", "3"]), ":1\r\n");
    assert_eq!(r.value(3, "c"), Some(set(&["1", "2"])));
    assert_eq!(r.value(0, "s2"), Some(set(&["1", "2"])), "the source stays");
    assert_eq!(
        r.ask(&["COPY", "s2", "s2"]),
        "-ERR source and destination objects are the same\r\n"
    );
    assert_eq!(
        r.ask(&["COPY", "s2", "c", "DB", "16"]),
        "-ERR DB index is out of range\r\n"
    );
    // MOVE: refused onto an existing key, else moves with its TTL.
    assert_eq!(r.ask(&["MOVE", "s2", "3"]), ":1\r\n");
    assert_eq!(r.value(3, "s2"), Some(set(&["1", "2"])));
    assert_eq!(r.value(0, "s2"), None);
    assert_eq!(r.ask(&["MOVE", "c", "3"]), ":0\r\n");
    assert_eq!(r.ask(&["MOVE", "str", "5"]), ":1\r\n");
    assert_eq!(r.ask(&["SELECT", "5"]), "+OK\r\n");
    assert_ne!(r.ask(&["PTTL", "str"]), ":-1\r\n");
    assert_eq!(r.ask(&["TYPE", "str"]), "+hash\r\n");
    // The copies are independent values: writing one leaves the other.
    r.hset(5, "str", &[("f", "changed")]);
    assert_eq!(r.value(0, "c"), Some(set(&["1", "2"])));
}

#[test]
fn expiry_commands_work_on_collections_and_collection_writes_keep_the_ttl() {
    let mut r = rig_with_types();
    assert_eq!(r.ask(&["TTL", "h"]), ":-1\r\n");
    assert_eq!(r.ask(&["EXPIRE", "h", "100", "XX"]), ":0\r\n");
    assert_eq!(r.ask(&["EXPIRE", "h", "100", "NX"]), ":1\r\n");
    assert_eq!(r.ask(&["TTL", "h"]), ":100\r\n");
    assert_eq!(r.ask(&["EXPIRE", "h", "50", "GT"]), ":0\r\n");
    r.hset(0, "h", &[("f2", "v2")]);
    assert_eq!(r.ask(&["TTL", "h"]), ":100\r\n", "HSET keeps the TTL");
    let at: i64 = r
        .ask(&["PEXPIRETIME", "h"])
        .trim_start_matches(':')
        .trim_end()
        .parse()
        .unwrap();
    assert!(at > super::now_ms() as i64);
    assert_eq!(r.ask(&["PERSIST", "h"]), ":1\r\n");
    assert_eq!(r.ask(&["EXPIRETIME", "h"]), ":-1\r\n");
    let future = (super::now_ms() / 1000 + 1000).to_string();
    assert_eq!(r.ask(&["EXPIREAT", "s", &future]), ":1\r\n");
    assert_eq!(r.ask(&["EXPIRETIME", "s"]), format!(":{future}\r\n"));
    // An expiry in the past deletes the collection.
    assert_eq!(r.ask(&["PEXPIRE", "s", "-1"]), ":1\r\n");
    assert_eq!(r.ask(&["EXISTS", "s"]), ":0\r\n");
    assert_eq!(r.ask(&["TTL", "s"]), ":-2\r\n");
    // A collection whose TTL ran out is gone for every command.
    assert_eq!(r.ask(&["PEXPIRE", "t", "1"]), ":1\r\n");
    std::thread::sleep(std::time::Duration::from_millis(5));
    assert_eq!(r.ask(&["TYPE", "t"]), "+none\r\n");
    assert_eq!(r.value(0, "t"), None);
}

#[test]
fn memory_usage_grows_with_the_collection() {
    let mut r = Rig::new();
    r.hset(0, "h", &[("f", "v")]);
    r.sadd(0, "s", &["m0"]);
    let usage = |r: &mut Rig, k: &str| -> i64 {
        r.ask(&["MEMORY", "USAGE", k])
            .trim_start_matches(':')
            .trim_end()
            .parse()
            .unwrap()
    };
    let (h1, s1) = (usage(&mut r, "h"), usage(&mut r, "s"));
    assert!(h1 > 0 && s1 > 0);
    let fields: Vec<(String, String)> = (0..1000)
        .map(|i| (format!("field{i}"), format!("value{i}")))
        .collect();
    let pairs: Vec<(&str, &str)> = fields.iter().map(|(f, v)| (&f[..], &v[..])).collect();
    r.hset(0, "h", &pairs);
    let members: Vec<String> = (0..1000).map(|i| format!("member{i}")).collect();
    let members: Vec<&str> = members.iter().map(|m| &m[..]).collect();
    r.sadd(0, "s", &members);
    let (h2, s2) = (usage(&mut r, "h"), usage(&mut r, "s"));
    // At least the bytes of the elements themselves.
    assert!(h2 > h1 + 1000 * 12, "{h1} -> {h2}");
    assert!(s2 > s1 + 1000 * 8, "{s1} -> {s2}");
    assert_eq!(r.ask(&["MEMORY", "USAGE", "nosuch"]), "$-1\r\n");
    // SAMPLES as redis-server 7.0.15 checks it.
    assert_eq!(usage_with(&mut r, &["SAMPLES", "0"]), format!(":{h2}\r\n"));
    assert_eq!(
        usage_with(&mut r, &["SAMPLES", "5", "SAMPLES", "1"]),
        format!(":{h2}\r\n")
    );
    assert_eq!(
        usage_with(&mut r, &["SAMPLES", "x"]),
        "-ERR value is not an integer or out of range\r\n"
    );
    for bad in [&["SAMPLES", "-1"][..], &["SAMPLES"], &["FOO", "1"]] {
        assert_eq!(usage_with(&mut r, bad), "-ERR syntax error\r\n", "{bad:?}");
    }
}

fn usage_with(r: &mut Rig, extra: &[&str]) -> String {
    let mut argv = vec!["MEMORY", "USAGE", "h"];
    argv.extend_from_slice(extra);
    r.ask(&argv)
}

#[test]
fn object_answers_encoding_refcount_idletime_freq_and_help_as_redis() {
    let mut r = rig_with_types();
    assert_eq!(r.ask(&["SET", "small", "100"]), "+OK\r\n");
    assert_eq!(r.ask(&["SET", "word", "hello"]), "+OK\r\n");
    let enc = |r: &mut Rig, k: &str| r.ask(&["OBJECT", "ENCODING", k]);
    assert_eq!(enc(&mut r, "h"), bulk("listpack"));
    assert_eq!(enc(&mut r, "s"), bulk("intset"));
    assert_eq!(enc(&mut r, "t"), bulk("listpack"));
    assert_eq!(enc(&mut r, "str"), bulk("int"));
    assert_eq!(enc(&mut r, "word"), bulk("embstr"));
    assert_eq!(enc(&mut r, "nosuch"), "$-1\r\n");
    // Redis shares the objects of the integers 0..9999: their refcount is INT_MAX.
    assert_eq!(r.ask(&["OBJECT", "REFCOUNT", "small"]), ":2147483647\r\n");
    for k in ["str", "word", "h", "s"] {
        assert_eq!(r.ask(&["OBJECT", "REFCOUNT", k]), ":1\r\n", "{k}");
    }
    assert_eq!(r.ask(&["OBJECT", "REFCOUNT", "nosuch"]), "$-1\r\n");
    // Under the default policy (noeviction): IDLETIME answers, FREQ is refused; a missing key
    // is nil first.
    assert_eq!(r.ask(&["OBJECT", "IDLETIME", "h"]), ":0\r\n");
    assert_eq!(r.ask(&["OBJECT", "IDLETIME", "nosuch"]), "$-1\r\n");
    assert_eq!(r.ask(&["OBJECT", "FREQ", "nosuch"]), "$-1\r\n");
    assert_eq!(
        r.ask(&["OBJECT", "FREQ", "h"]),
        "-ERR An LFU maxmemory policy is not selected, access frequency not tracked. Please note that when switching between policies at runtime LRU and LFU data will take some time to adjust.\r\n"
    );
    assert_eq!(
        r.ask(&["CONFIG", "SET", "maxmemory-policy", "allkeys-lfu"]),
        "+OK\r\n"
    );
    assert_eq!(r.ask(&["OBJECT", "FREQ", "h"]), ":0\r\n");
    assert_eq!(
        r.ask(&["OBJECT", "IDLETIME", "h"]),
        "-ERR An LFU maxmemory policy is selected, idle time not tracked. Please note that when switching between policies at runtime LRU and LFU data will take some time to adjust.\r\n"
    );
    // Argument errors, as redis-server 7.0.15 words them.
    assert_eq!(
        r.ask(&["OBJECT"]),
        "-ERR wrong number of arguments for 'object' command\r\n"
    );
    assert_eq!(
        r.ask(&["OBJECT", "ENCODING"]),
        "-ERR wrong number of arguments for 'object|encoding' command\r\n"
    );
    assert_eq!(
        r.ask(&["OBJECT", "encoding", "h", "x"]),
        "-ERR wrong number of arguments for 'object|encoding' command\r\n"
    );
    assert_eq!(
        r.ask(&["OBJECT", "HELP", "x"]),
        "-ERR wrong number of arguments for 'object|help' command\r\n"
    );
    assert_eq!(
        r.ask(&["OBJECT", "foo"]),
        "-ERR unknown subcommand 'foo'. Try OBJECT HELP.\r\n"
    );
    let help = r.ask(&["OBJECT", "HELP"]);
    assert!(help.starts_with("*15\r\n+OBJECT <subcommand>"), "{help}");
    assert!(
        help.ends_with("+HELP\r\n+    Prints this help.\r\n"),
        "{help}"
    );
}

#[test]
fn config_set_of_a_threshold_applies_to_the_next_write() {
    let mut r = Rig::new();
    assert_eq!(
        r.ask(&["CONFIG", "SET", "hash-max-ziplist-entries", "2"]),
        "+OK\r\n"
    );
    assert_eq!(r.shared.keyspace.limits().hash_max_listpack_entries, 2);
    r.hset(0, "h", &[("a", "1"), ("b", "2")]);
    assert_eq!(r.ask(&["OBJECT", "ENCODING", "h"]), bulk("listpack"));
    r.hset(0, "h", &[("c", "3")]);
    assert_eq!(r.ask(&["OBJECT", "ENCODING", "h"]), bulk("hashtable"));
    assert_eq!(
        r.ask(&[
            "CONFIG",
            "SET",
            "set-max-intset-entries",
            "1",
            "set-max-listpack-value",
            "3"
        ]),
        "+OK\r\n"
    );
    r.sadd(0, "ints", &["1"]);
    assert_eq!(r.ask(&["OBJECT", "ENCODING", "ints"]), bulk("intset"));
    r.sadd(0, "ints", &["2"]);
    assert_eq!(r.ask(&["OBJECT", "ENCODING", "ints"]), bulk("listpack"));
    r.sadd(0, "ints", &["long"]);
    assert_eq!(r.ask(&["OBJECT", "ENCODING", "ints"]), bulk("hashtable"));
    // A refused CONFIG SET changes no threshold.
    let before = r.shared.keyspace.limits();
    let err = r.ask(&[
        "CONFIG",
        "SET",
        "hash-max-listpack-value",
        "9",
        "set-max-listpack-entries",
        "-1",
    ]);
    assert!(err.starts_with("-ERR CONFIG SET failed"), "{err}");
    assert_eq!(r.shared.keyspace.limits(), before);
    assert_eq!(
        r.ask(&["CONFIG", "GET", "hash-max-listpack-value"]),
        "*2\r\n$23\r\nhash-max-listpack-value\r\n$2\r\n64\r\n"
    );
}

#[test]
fn watch_on_a_hash_or_set_aborts_exec_when_another_client_changes_it() {
    let mut r = rig_with_types();
    let mut other = Rig::client(&r.shared);
    let mut other_out = ReplyWriter::new();
    for (key, change) in [("h", "hset"), ("s", "sadd"), ("t", "expire"), ("h", "del")] {
        assert_eq!(r.ask(&["WATCH", key]), "+OK\r\n");
        assert_eq!(r.ask(&["MULTI"]), "+OK\r\n");
        assert_eq!(r.ask(&["SET", "done", "1"]), "+QUEUED\r\n");
        match change {
            "hset" => r.hset(0, key, &[("new", "field")]),
            "sadd" => r.sadd(0, key, &["new"]),
            "expire" => assert_eq!(
                ask_as(
                    &r.shared,
                    &mut other,
                    &mut other_out,
                    &["EXPIRE", key, "100"]
                ),
                ":1\r\n"
            ),
            _ => assert_eq!(
                ask_as(&r.shared, &mut other, &mut other_out, &["DEL", key]),
                ":1\r\n"
            ),
        }
        assert_eq!(r.ask(&["EXEC"]), "*-1\r\n", "{change} of {key}");
        assert_eq!(r.ask(&["EXISTS", "done"]), ":0\r\n");
    }
    // A write that changes nothing (a member already there) leaves the WATCH alone.
    assert_eq!(r.ask(&["WATCH", "s"]), "+OK\r\n");
    r.sadd(0, "s", &["new"]);
    assert_eq!(r.ask(&["MULTI"]), "+OK\r\n");
    assert_eq!(r.ask(&["SET", "done", "1"]), "+QUEUED\r\n");
    assert_eq!(r.ask(&["EXEC"]), "*1\r\n+OK\r\n");
}

#[test]
fn lcs_answers_as_redis_and_refuses_collections_with_its_own_error() {
    let mut r = rig_with_types();
    assert_eq!(r.ask(&["SET", "a", "ohmytext"]), "+OK\r\n");
    assert_eq!(r.ask(&["SET", "b", "mynewtext"]), "+OK\r\n");
    // Replies captured from redis-server 7.0.15.
    assert_eq!(r.ask(&["LCS", "a", "b"]), bulk("mytext"));
    assert_eq!(r.ask(&["LCS", "a", "b", "LEN"]), ":6\r\n");
    assert_eq!(
        r.ask(&["LCS", "a", "b", "IDX"]),
        "*4\r\n$7\r\nmatches\r\n*2\r\n*2\r\n*2\r\n:4\r\n:7\r\n*2\r\n:5\r\n:8\r\n*2\r\n*2\r\n:2\r\n:3\r\n*2\r\n:0\r\n:1\r\n$3\r\nlen\r\n:6\r\n"
    );
    assert_eq!(
        r.ask(&["LCS", "a", "b", "IDX", "MINMATCHLEN", "4", "WITHMATCHLEN"]),
        "*4\r\n$7\r\nmatches\r\n*1\r\n*3\r\n*2\r\n:4\r\n:7\r\n*2\r\n:5\r\n:8\r\n:4\r\n$3\r\nlen\r\n:6\r\n"
    );
    assert!(r.ask(&["HELLO", "3"]).starts_with('%'));
    assert_eq!(
        r.ask(&["LCS", "a", "b", "IDX", "MINMATCHLEN", "4", "WITHMATCHLEN"]),
        "%2\r\n$7\r\nmatches\r\n*1\r\n*3\r\n*2\r\n:4\r\n:7\r\n*2\r\n:5\r\n:8\r\n:4\r\n$3\r\nlen\r\n:6\r\n"
    );
    assert_eq!(r.ask(&["LCS", "a", "nosuch"]), bulk(""));
    assert_eq!(
        r.ask(&["LCS", "a", "b", "LEN", "IDX"]),
        "-ERR If you want both the length and indexes, please just use IDX.\r\n"
    );
    assert_eq!(
        r.ask(&["LCS", "a", "b", "MINMATCHLEN"]),
        "-ERR syntax error\r\n"
    );
    // Another kind: LCS's own error, before the options are read.
    for args in [
        &["LCS", "h", "a"][..],
        &["LCS", "a", "s"],
        &["LCS", "h", "a", "FOO"],
    ] {
        assert_eq!(
            r.ask(args),
            "-ERR The specified keys must contain string values\r\n",
            "{args:?}"
        );
    }
}
