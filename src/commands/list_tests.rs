//! The list commands on an in-memory server (no storage) whose WAL sink records every entry:
//! what each write logs (pushed elements, pop counts, resolved LSET/LINSERT indices, LREM as
//! given, LTRIM's resolved counts; nothing when Redis does not signal the key), that replaying
//! the log into an empty keyspace rebuilds the same lists, and the index, range, LPOS and
//! LMPOP helpers. Replies and edge cases were checked against redis-server 7.0.15.

use super::*;
use crate::keyspace::{Effect, Keyspace};

use super::super::test_rig::Rig;

fn b(s: &str) -> Bytes {
    Bytes::from(s.to_string())
}

fn bs(v: &[&str]) -> Vec<Bytes> {
    v.iter().map(|s| b(s)).collect()
}

fn push(key: &str, left: bool, elements: &[&str]) -> Effect {
    Effect::ListPush {
        db: 0,
        key: b(key),
        left,
        elements: bs(elements),
        expires_at_ms: None,
    }
}

fn pop(key: &str, left: bool, count: u64) -> Effect {
    Effect::ListPop {
        db: 0,
        key: b(key),
        left,
        count,
        expires_at_ms: None,
    }
}

/// A RESP2 array of bulk strings.
fn arr(items: &[&str]) -> String {
    let mut s = format!("*{}\r\n", items.len());
    for i in items {
        s.push_str(&format!("${}\r\n{i}\r\n", i.len()));
    }
    s
}

/// Takes the entries logged since the last call, with their sequence numbers.
fn entries(r: &Rig) -> Vec<(u64, Vec<Effect>)> {
    r.log
        .0
        .lock()
        .map(|mut l| std::mem::take(&mut *l))
        .unwrap_or_default()
}

/// The elements of the list `key` in db 0 of `ks` (empty if absent).
fn list_of(ks: &Keyspace, key: &str) -> Vec<Bytes> {
    let mut l = ks.lock_keys(std::iter::once(key.as_bytes()));
    match l.get_list(0, key.as_bytes(), now_ms()) {
        Ok(Some(list)) => list.iter().map(Bytes::copy_from_slice).collect(),
        _ => Vec::new(),
    }
}

// ---- what each write logs -------------------------------------------------------------------

fn del(key: &str) -> Effect {
    Effect::Del {
        db: 0,
        key: Bytes::copy_from_slice(key.as_bytes()),
    }
}

#[test]
fn pushes_log_their_elements_in_order() {
    let mut r = Rig::new();
    assert_eq!(r.ask(&["LPUSH", "l", "a", "b", "c"]), ":3\r\n");
    assert_eq!(r.logged(), vec![vec![push("l", true, &["a", "b", "c"])]]);
    assert_eq!(r.ask(&["RPUSH", "l", "x"]), ":4\r\n");
    assert_eq!(r.logged(), vec![vec![push("l", false, &["x"])]]);
    assert_eq!(
        r.ask(&["LRANGE", "l", "0", "-1"]),
        arr(&["c", "b", "a", "x"])
    );
    assert_eq!(r.ask(&["RPUSHX", "l", "y", "z"]), ":6\r\n");
    assert_eq!(r.logged(), vec![vec![push("l", false, &["y", "z"])]]);
}

#[test]
fn pushx_on_a_missing_key_logs_nothing_and_creates_nothing() {
    let mut r = Rig::new();
    assert_eq!(r.ask(&["LPUSHX", "l", "a"]), ":0\r\n");
    assert_eq!(r.ask(&["RPUSHX", "l", "a"]), ":0\r\n");
    assert!(r.logged().is_empty());
    assert_eq!(r.ask(&["EXISTS", "l"]), ":0\r\n");
    r.ask(&["SET", "s", "v"]);
    r.logged();
    assert!(r.ask(&["LPUSHX", "s", "a"]).starts_with("-WRONGTYPE"));
    assert!(r.ask(&["LPUSH", "s", "a"]).starts_with("-WRONGTYPE"));
    assert!(r.logged().is_empty());
}

#[test]
fn pops_log_the_count_taken_and_nothing_when_nothing_is_taken() {
    let mut r = Rig::new();
    r.ask(&["RPUSH", "l", "a", "b", "c", "d"]);
    r.logged();
    assert_eq!(r.ask(&["LPOP", "l"]), "$1\r\na\r\n");
    assert_eq!(r.logged(), vec![vec![pop("l", true, 1)]]);
    assert_eq!(r.ask(&["RPOP", "l", "2"]), arr(&["d", "c"]));
    assert_eq!(r.logged(), vec![vec![pop("l", false, 2)]]);
    // a count of 0 takes nothing: an empty array, no entry
    assert_eq!(r.ask(&["LPOP", "l", "0"]), "*0\r\n");
    assert!(r.logged().is_empty());
    // a count past the length logs what was actually taken, and the list is removed
    assert_eq!(r.ask(&["RPOP", "l", "10"]), arr(&["b"]));
    // the entry that empties a list also logs its removal (see Locked::write_coll)
    assert_eq!(r.logged(), vec![vec![pop("l", false, 1), del("l")]]);
    assert_eq!(r.ask(&["EXISTS", "l"]), ":0\r\n");
    // missing key: null bulk without a count, null array with one; nothing logged
    assert_eq!(r.ask(&["LPOP", "l"]), "$-1\r\n");
    assert_eq!(r.ask(&["LPOP", "l", "0"]), "*-1\r\n");
    assert_eq!(r.ask(&["RPOP", "l", "3"]), "*-1\r\n");
    assert!(r.logged().is_empty());
}

#[test]
fn pop_count_is_checked_before_the_key() {
    let mut r = Rig::new();
    r.ask(&["SET", "s", "v"]);
    for bad in ["-1", "abc", "1.5", "", "9223372036854775808", "+1", "01"] {
        assert_eq!(
            r.ask(&["LPOP", "s", bad]),
            "-ERR value is out of range, must be positive\r\n",
            "{bad:?}"
        );
    }
    assert!(r.ask(&["LPOP", "s", "0"]).starts_with("-WRONGTYPE"));
    assert_eq!(
        r.ask(&["LPOP", "s", "1", "2"]),
        "-ERR wrong number of arguments for 'lpop' command\r\n"
    );
}

#[test]
fn pop_replies_in_resp3() {
    let mut r = Rig::new();
    r.ask(&["HELLO", "3"]);
    assert_eq!(r.ask(&["LPOP", "nokey"]), "_\r\n");
    assert_eq!(r.ask(&["LPOP", "nokey", "2"]), "_\r\n");
    assert_eq!(r.ask(&["LMPOP", "1", "nokey", "LEFT"]), "_\r\n");
    r.ask(&["RPUSH", "l", "a", "b"]);
    assert_eq!(
        r.ask(&["LMPOP", "1", "l", "RIGHT", "COUNT", "5"]),
        "*2\r\n$1\r\nl\r\n*2\r\n$1\r\nb\r\n$1\r\na\r\n"
    );
}

#[test]
fn lset_logs_the_resolved_index_even_for_the_same_value() {
    let mut r = Rig::new();
    r.ask(&["RPUSH", "l", "a", "b", "c"]);
    r.logged();
    assert_eq!(r.ask(&["LSET", "l", "-1", "z"]), "+OK\r\n");
    let set = |index, element: &str| Effect::ListSet {
        db: 0,
        key: b("l"),
        index,
        element: b(element),
        expires_at_ms: None,
    };
    assert_eq!(r.logged(), vec![vec![set(2, "z")]]);
    // Redis signals the key even when the value is the same: logged (WATCH sees it)
    assert_eq!(r.ask(&["LSET", "l", "0", "a"]), "+OK\r\n");
    assert_eq!(r.logged(), vec![vec![set(0, "a")]]);
    assert_eq!(
        r.ask(&["LSET", "l", "3", "q"]),
        "-ERR index out of range\r\n"
    );
    assert_eq!(
        r.ask(&["LSET", "l", "-4", "q"]),
        "-ERR index out of range\r\n"
    );
    assert_eq!(
        r.ask(&["LSET", "l", "x", "q"]),
        "-ERR value is not an integer or out of range\r\n"
    );
    // a missing key wins over a bad index
    assert_eq!(r.ask(&["LSET", "nokey", "x", "q"]), "-ERR no such key\r\n");
    assert!(r.logged().is_empty());
    assert_eq!(r.ask(&["EXISTS", "nokey"]), ":0\r\n");
}

#[test]
fn linsert_logs_where_the_element_landed() {
    let mut r = Rig::new();
    r.ask(&["RPUSH", "l", "a", "b", "b", "c"]);
    r.logged();
    let ins = |index, element: &str| Effect::ListInsert {
        db: 0,
        key: b("l"),
        index,
        element: b(element),
        expires_at_ms: None,
    };
    assert_eq!(r.ask(&["LINSERT", "l", "AFTER", "b", "x"]), ":5\r\n");
    assert_eq!(r.logged(), vec![vec![ins(2, "x")]]);
    assert_eq!(r.ask(&["LINSERT", "l", "before", "a", "y"]), ":6\r\n");
    assert_eq!(r.logged(), vec![vec![ins(0, "y")]]);
    assert_eq!(
        r.ask(&["LRANGE", "l", "0", "-1"]),
        arr(&["y", "a", "b", "x", "b", "c"])
    );
    assert_eq!(r.ask(&["LINSERT", "l", "BEFORE", "nope", "z"]), ":-1\r\n");
    assert_eq!(r.ask(&["LINSERT", "nokey", "BEFORE", "a", "z"]), ":0\r\n");
    assert_eq!(
        r.ask(&["LINSERT", "nokey", "MIDDLE", "a", "z"]),
        "-ERR syntax error\r\n"
    );
    assert!(r.logged().is_empty());
}

#[test]
fn lrem_logs_its_arguments_only_when_it_removed_something() {
    let mut r = Rig::new();
    r.ask(&["RPUSH", "l", "x", "a", "x", "b", "x"]);
    r.logged();
    assert_eq!(r.ask(&["LREM", "l", "-2", "x"]), ":2\r\n");
    assert_eq!(
        r.logged(),
        vec![vec![Effect::ListRem {
            db: 0,
            key: b("l"),
            count: -2,
            element: b("x"),
            expires_at_ms: None,
        }]]
    );
    assert_eq!(r.ask(&["LRANGE", "l", "0", "-1"]), arr(&["x", "a", "b"]));
    assert_eq!(r.ask(&["LREM", "l", "0", "zz"]), ":0\r\n");
    assert_eq!(r.ask(&["LREM", "nokey", "0", "x"]), ":0\r\n");
    assert!(r.logged().is_empty());
    // every element removed: the key goes
    assert_eq!(r.ask(&["LREM", "l", "0", "x"]), ":1\r\n");
    r.ask(&["LREM", "l", "0", "a"]);
    r.ask(&["LREM", "l", "0", "b"]);
    assert_eq!(r.ask(&["EXISTS", "l"]), ":0\r\n");
}

#[test]
fn ltrim_logs_the_counts_dropped_and_always_signals() {
    let mut r = Rig::new();
    r.ask(&["RPUSH", "l", "a", "b", "c", "d", "e"]);
    r.logged();
    let trim = |front, back| Effect::ListTrim {
        db: 0,
        key: b("l"),
        front,
        back,
        expires_at_ms: None,
    };
    assert_eq!(r.ask(&["LTRIM", "l", "1", "-2"]), "+OK\r\n");
    assert_eq!(r.logged(), vec![vec![trim(1, 1)]]);
    // keeping everything is still a signalled write in Redis (WATCH sees it)
    assert_eq!(r.ask(&["LTRIM", "l", "-100", "100"]), "+OK\r\n");
    assert_eq!(r.logged(), vec![vec![trim(0, 0)]]);
    assert_eq!(r.ask(&["LRANGE", "l", "0", "-1"]), arr(&["b", "c", "d"]));
    // missing key: +OK, nothing logged; indices are parsed first
    assert_eq!(r.ask(&["LTRIM", "nokey", "0", "1"]), "+OK\r\n");
    assert!(r.logged().is_empty());
    assert_eq!(
        r.ask(&["LTRIM", "nokey", "a", "1"]),
        "-ERR value is not an integer or out of range\r\n"
    );
    // an empty range drops everything from the front and removes the key
    assert_eq!(r.ask(&["LTRIM", "l", "2", "1"]), "+OK\r\n");
    assert_eq!(r.logged(), vec![vec![trim(3, 0), del("l")]]);
    assert_eq!(r.ask(&["EXISTS", "l"]), ":0\r\n");
}

#[test]
fn lmove_within_one_list_logs_pop_then_push_and_keeps_the_ttl() {
    let mut r = Rig::new();
    r.ask(&["RPUSH", "one", "a"]);
    r.ask(&["PEXPIRE", "one", "100000"]);
    r.logged();
    for (from, to) in [("LEFT", "LEFT"), ("LEFT", "RIGHT"), ("RIGHT", "LEFT")] {
        assert_eq!(r.ask(&["LMOVE", "one", "one", from, to]), "$1\r\na\r\n");
        let logged = r.logged();
        assert_eq!(logged.len(), 1, "one entry");
        let kinds: Vec<_> = logged[0]
            .iter()
            .map(|e| match e {
                Effect::ListPop {
                    left,
                    count: 1,
                    expires_at_ms: Some(_),
                    ..
                } => format!("pop {left}"),
                Effect::ListPush {
                    left,
                    elements,
                    expires_at_ms: Some(_),
                    ..
                } if elements == &bs(&["a"]) => format!("push {left}"),
                other => format!("{other:?}"),
            })
            .collect();
        assert_eq!(
            kinds,
            [
                format!("pop {}", from == "LEFT"),
                format!("push {}", to == "LEFT")
            ]
        );
    }
    let ttl = r.ask(&["PTTL", "one"]);
    assert!(ttl.starts_with(':') && !ttl.starts_with(":-"), "{ttl}");
    // rotation on a longer list
    r.ask(&["RPUSH", "l", "a", "b", "c"]);
    assert_eq!(r.ask(&["RPOPLPUSH", "l", "l"]), "$1\r\nc\r\n");
    assert_eq!(r.ask(&["LRANGE", "l", "0", "-1"]), arr(&["c", "a", "b"]));
}

#[test]
fn lmove_between_lists_logs_both_keys_in_one_entry() {
    let mut r = Rig::new();
    r.ask(&["RPUSH", "src", "a", "b"]);
    r.logged();
    assert_eq!(
        r.ask(&["LMOVE", "src", "dst", "RIGHT", "LEFT"]),
        "$1\r\nb\r\n"
    );
    assert_eq!(
        r.logged(),
        vec![vec![pop("src", false, 1), push("dst", true, &["b"])]]
    );
    assert_eq!(r.ask(&["RPOPLPUSH", "src", "dst"]), "$1\r\na\r\n");
    assert_eq!(
        r.logged(),
        vec![vec![
            pop("src", false, 1),
            del("src"),
            push("dst", true, &["a"])
        ]]
    );
    assert_eq!(r.ask(&["EXISTS", "src"]), ":0\r\n");
    assert_eq!(r.ask(&["LRANGE", "dst", "0", "-1"]), arr(&["a", "b"]));
    // missing source: nil, even with a destination of another type
    r.ask(&["SET", "s", "v"]);
    r.logged();
    assert_eq!(r.ask(&["LMOVE", "src", "s", "LEFT", "LEFT"]), "$-1\r\n");
    // a wrong-type destination changes nothing
    assert!(r
        .ask(&["LMOVE", "dst", "s", "LEFT", "LEFT"])
        .starts_with("-WRONGTYPE"));
    assert!(r.logged().is_empty());
    assert_eq!(r.ask(&["LRANGE", "dst", "0", "-1"]), arr(&["a", "b"]));
    assert_eq!(
        r.ask(&["LMOVE", "dst", "x", "UP", "LEFT"]),
        "-ERR syntax error\r\n"
    );
}

#[test]
fn lmpop_pops_from_the_first_non_empty_key() {
    let mut r = Rig::new();
    r.ask(&["RPUSH", "b", "1", "2", "3"]);
    r.ask(&["SET", "s", "v"]);
    r.logged();
    assert_eq!(
        r.ask(&["LMPOP", "3", "a", "b", "s", "LEFT", "COUNT", "2"]),
        "*2\r\n$1\r\nb\r\n*2\r\n$1\r\n1\r\n$1\r\n2\r\n"
    );
    assert_eq!(r.logged(), vec![vec![pop("b", true, 2)]]);
    assert!(r
        .ask(&["LMPOP", "2", "s", "b", "LEFT"])
        .starts_with("-WRONGTYPE"));
    assert_eq!(r.ask(&["LMPOP", "2", "a", "c", "RIGHT"]), "*-1\r\n");
    assert!(r.logged().is_empty());
}

#[test]
fn lmpop_argument_errors() {
    let mut r = Rig::new();
    let numkeys = "-ERR numkeys should be greater than 0\r\n";
    let count = "-ERR count should be greater than 0\r\n";
    let syntax = "-ERR syntax error\r\n";
    for (argv, want) in [
        (&["LMPOP", "0", "a", "LEFT"][..], numkeys),
        (&["LMPOP", "01", "a", "LEFT"], numkeys),
        (&["LMPOP", "abc", "a", "LEFT"], numkeys),
        (&["LMPOP", "3", "a", "b", "LEFT"], syntax),
        (&["LMPOP", "2147483648", "a", "LEFT"], syntax),
        (&["LMPOP", "1", "a", "UP"], syntax),
        (&["LMPOP", "1", "a", "LEFT", "COUNT"], syntax),
        (&["LMPOP", "1", "a", "LEFT", "COUNT", "0"], count),
        (
            &["LMPOP", "1", "a", "LEFT", "COUNT", "9223372036854775808"],
            count,
        ),
        (
            &["LMPOP", "1", "a", "LEFT", "COUNT", "1", "COUNT", "1"],
            syntax,
        ),
        (&["LMPOP", "1", "a", "LEFT", "junk"], syntax),
    ] {
        assert_eq!(r.ask(argv), want, "{argv:?}");
    }
}

// ---- reads --------------------------------------------------------------------------------

#[test]
fn reads_on_missing_and_wrong_type_keys() {
    let mut r = Rig::new();
    r.ask(&["SET", "s", "v"]);
    assert_eq!(r.ask(&["LLEN", "nokey"]), ":0\r\n");
    assert_eq!(r.ask(&["LINDEX", "nokey", "abc"]), "$-1\r\n");
    assert!(r.ask(&["LINDEX", "s", "abc"]).starts_with("-WRONGTYPE"));
    assert_eq!(r.ask(&["LRANGE", "nokey", "0", "-1"]), "*0\r\n");
    assert_eq!(
        r.ask(&["LRANGE", "s", "x", "1"]),
        "-ERR value is not an integer or out of range\r\n"
    );
    assert_eq!(r.ask(&["LPOS", "nokey", "a"]), "$-1\r\n");
    assert_eq!(r.ask(&["LPOS", "nokey", "a", "COUNT", "0"]), "*0\r\n");
    assert!(r.ask(&["LPOS", "s", "a"]).starts_with("-WRONGTYPE"));
    assert!(r.logged().iter().all(|e| e.len() == 1), "only the SET");
}

#[test]
fn lrange_and_lindex_indices() {
    let mut r = Rig::new();
    r.ask(&["RPUSH", "l", "a", "b", "c", "d", "e"]);
    assert_eq!(r.ask(&["LRANGE", "l", "-6", "-5"]), arr(&["a"]));
    assert_eq!(r.ask(&["LRANGE", "l", "-2", "100"]), arr(&["d", "e"]));
    assert_eq!(r.ask(&["LRANGE", "l", "3", "1"]), "*0\r\n");
    assert_eq!(
        r.ask(&["LRANGE", "l", "-9223372036854775808", "9223372036854775807"]),
        arr(&["a", "b", "c", "d", "e"])
    );
    assert_eq!(r.ask(&["LINDEX", "l", "-1"]), "$1\r\ne\r\n");
    assert_eq!(r.ask(&["LINDEX", "l", "5"]), "$-1\r\n");
    assert_eq!(r.ask(&["LINDEX", "l", "-6"]), "$-1\r\n");
    assert_eq!(r.ask(&["LLEN", "l"]), ":5\r\n");
}

#[test]
fn range_helpers_clamp_as_redis_does() {
    assert_eq!(resolve_range(0, -1, 5), Some((0, 4)));
    assert_eq!(resolve_range(-6, -5, 5), Some((0, 0)));
    assert_eq!(resolve_range(-4, -4, 3), None);
    assert_eq!(resolve_range(i64::MIN, i64::MIN, 3), None);
    assert_eq!(resolve_range(i64::MIN, i64::MAX, 3), Some((0, 2)));
    assert_eq!(resolve_range(2, 100, 3), Some((2, 2)));
    assert_eq!(resolve_range(3, 100, 3), None);
    assert_eq!(resolve_range(0, 0, 0), None);
    assert_eq!(resolve_index(-1, 3), Some(2));
    assert_eq!(resolve_index(-4, 3), None);
    assert_eq!(resolve_index(3, 3), None);
    assert_eq!(resolve_index(i64::MIN, 3), None);
}

#[test]
fn lpos_options_and_scans() {
    let mut r = Rig::new();
    // a b c 1 2 3 c c  (indices 0..7)
    r.ask(&["RPUSH", "l", "a", "b", "c", "1", "2", "3", "c", "c"]);
    assert_eq!(r.ask(&["LPOS", "l", "c"]), ":2\r\n");
    assert_eq!(r.ask(&["LPOS", "l", "c", "RANK", "2"]), ":6\r\n");
    assert_eq!(r.ask(&["LPOS", "l", "c", "RANK", "-1"]), ":7\r\n");
    assert_eq!(r.ask(&["LPOS", "l", "c", "RANK", "-3"]), ":2\r\n");
    assert_eq!(r.ask(&["LPOS", "l", "c", "RANK", "4"]), "$-1\r\n");
    assert_eq!(
        r.ask(&["LPOS", "l", "c", "COUNT", "0"]),
        "*3\r\n:2\r\n:6\r\n:7\r\n"
    );
    assert_eq!(
        r.ask(&["LPOS", "l", "c", "RANK", "-1", "COUNT", "2"]),
        "*2\r\n:7\r\n:6\r\n"
    );
    assert_eq!(
        r.ask(&["LPOS", "l", "c", "RANK", "2", "COUNT", "0"]),
        "*2\r\n:6\r\n:7\r\n"
    );
    assert_eq!(r.ask(&["LPOS", "l", "c", "MAXLEN", "2"]), "$-1\r\n");
    assert_eq!(r.ask(&["LPOS", "l", "c", "MAXLEN", "3"]), ":2\r\n");
    assert_eq!(
        r.ask(&["LPOS", "l", "c", "RANK", "-1", "MAXLEN", "1", "COUNT", "0"]),
        "*1\r\n:7\r\n"
    );
    assert_eq!(r.ask(&["LPOS", "l", "z", "COUNT", "3"]), "*0\r\n");
    // the last of a repeated option wins
    assert_eq!(
        r.ask(&["LPOS", "l", "c", "RANK", "1", "RANK", "2"]),
        ":6\r\n"
    );
    assert_eq!(r.ask(&["LPOS", "l", "01"]), "$-1\r\n");
}

#[test]
fn lpos_errors_in_argument_order() {
    let mut r = Rig::new();
    r.ask(&["SET", "s", "v"]);
    let rank0 = format!("-{ERR_RANK_ZERO}\r\n");
    let count = "-ERR COUNT can't be negative\r\n";
    let maxlen = "-ERR MAXLEN can't be negative\r\n";
    let not_int = "-ERR value is not an integer or out of range\r\n";
    let syntax = "-ERR syntax error\r\n";
    for (args, want) in [
        (&["RANK", "0"][..], rank0.as_str()),
        (&["RANK", "abc"], not_int),
        (&["RANK", "-0"], not_int),
        (&["COUNT", "-1"], count),
        (&["COUNT", "abc"], count),
        (&["MAXLEN", "-1"], maxlen),
        (&["MAXLEN", "abc"], maxlen),
        (&["RANK", "0", "COUNT", "-1"], rank0.as_str()),
        (&["COUNT", "-1", "RANK", "0"], count),
        (&["RANK"], syntax),
        (&["FOO", "1"], syntax),
    ] {
        let mut argv = vec!["LPOS", "s", "a"];
        argv.extend_from_slice(args);
        assert_eq!(r.ask(&argv), want, "{args:?}");
    }
    assert!(r
        .ask(&["LPOS", "s", "a", "RANK", "1"])
        .starts_with("-WRONGTYPE"));
}

#[test]
fn lpos_rank_llong_min_takes_the_first_match_from_the_tail() {
    let limits = crate::keyspace::Limits::default();
    let items: Vec<&[u8]> = vec![b"x", b"a", b"x"];
    let l = ListObj::from_elements(items, &limits);
    let p = PosArgs {
        rank: i64::MIN,
        count: None,
        maxlen: 0,
    };
    assert_eq!(positions(&l, b"x", &p), vec![2]);
}

#[test]
fn key_finders_and_direction_words() {
    let v = |a: &[&str]| bs(a);
    assert_eq!(
        lmpop_keys(&v(&["lmpop", "2", "a", "b", "LEFT"])),
        vec![2, 3]
    );
    assert_eq!(
        lmpop_keys(&v(&["lmpop", "3", "a", "b", "LEFT"])),
        vec![2, 3, 4]
    );
    assert!(lmpop_keys(&v(&["lmpop", "4", "a", "b", "LEFT"])).is_empty());
    assert!(lmpop_keys(&v(&["lmpop", "0", "a", "LEFT"])).is_empty());
    assert!(lmpop_keys(&v(&["lmpop", "x", "a", "LEFT"])).is_empty());
    assert_eq!(
        mpop_keys_at(&v(&["blmpop", "0", "2", "a", "b", "LEFT"]), 2),
        vec![3, 4]
    );
    assert_eq!(parse_end(b"left"), Some(true));
    assert_eq!(parse_end(b"RiGhT"), Some(false));
    assert_eq!(parse_end(b"up"), None);
    let argv = v(&["blmpop", "1.5", "2", "a", "b", "RIGHT", "COUNT", "3"]);
    assert_eq!(
        parse_mpop(&argv, 2, ["left", "right"]),
        Ok(MPop {
            keys: &argv[3..5],
            first: false,
            count: 3
        })
    );
}

#[test]
fn pop_n_takes_what_is_there() {
    let limits = crate::keyspace::Limits::default();
    let items: Vec<&[u8]> = vec![b"a", b"b", b"c"];
    let mut l = ListObj::from_elements(items, &limits);
    assert_eq!(pop_n(&mut l, false, 2, &limits), bs(&["c", "b"]));
    assert_eq!(pop_n(&mut l, true, 5, &limits), bs(&["a"]));
    assert!(pop_n(&mut l, true, 1, &limits).is_empty());
}

// ---- replay -------------------------------------------------------------------------------

#[test]
fn replaying_the_log_rebuilds_every_list() {
    let mut r = Rig::new();
    let script: &[&[&str]] = &[
        &["RPUSH", "l", "a", "b", "c", "d", "e", "f", "g"],
        &["LPUSH", "l", "z", "y"],
        &["LPOP", "l"],
        &["RPOP", "l", "2"],
        &["LSET", "l", "-2", "S"],
        &["LSET", "l", "0", "z"],
        &["LINSERT", "l", "BEFORE", "c", "I"],
        &["LINSERT", "l", "AFTER", "S", "J"],
        &["RPUSH", "l", "a", "x", "a"],
        &["LREM", "l", "-1", "a"],
        &["LREM", "l", "1", "a"],
        &["LTRIM", "l", "1", "-2"],
        &["LTRIM", "l", "0", "-1"],
        &["RPUSH", "m", "1", "2", "3"],
        &["LMOVE", "m", "l", "LEFT", "RIGHT"],
        &["RPOPLPUSH", "l", "m"],
        &["LMOVE", "l", "l", "LEFT", "RIGHT"],
        &["LMOVE", "m", "m", "RIGHT", "LEFT"],
        &["LMPOP", "2", "n", "m", "RIGHT", "COUNT", "2"],
        &["RPUSH", "gone", "1"],
        &["LPOP", "gone"],
        &["RPUSH", "t", "1", "2"],
        &["LTRIM", "t", "5", "9"],
        &["RPUSH", "t", "3"],
    ];
    for argv in script {
        let reply = r.ask(argv);
        assert!(!reply.starts_with('-'), "{argv:?}: {reply}");
    }
    let log = entries(&r);
    let fresh = Keyspace::new(16);
    for (seq, effects) in &log {
        fresh.apply_entry(*seq, effects);
    }
    for key in ["l", "m", "gone", "t", "n"] {
        assert_eq!(
            list_of(&fresh, key),
            list_of(&r.shared.keyspace, key),
            "{key}"
        );
    }
    assert_eq!(list_of(&fresh, "t"), bs(&["3"]));
    assert!(list_of(&fresh, "gone").is_empty());
    assert!(!list_of(&fresh, "l").is_empty());
}

#[test]
fn replaying_a_big_list_past_the_listpack_limit() {
    let mut r = Rig::new();
    let elements: Vec<String> = (0..600).map(|i| format!("element-{i:04}")).collect();
    let mut argv = vec!["RPUSH".to_string(), "big".to_string()];
    argv.extend(elements.iter().cloned());
    let argv: Vec<&str> = argv.iter().map(|s| s.as_str()).collect();
    assert_eq!(r.ask(&argv), ":600\r\n");
    assert_eq!(r.encoding("big"), Some("quicklist"));
    r.ask(&["LSET", "big", "300", "middle"]);
    r.ask(&["LINSERT", "big", "AFTER", "element-0450", "after-450"]);
    r.ask(&["LREM", "big", "0", "element-0010"]);
    r.ask(&["LTRIM", "big", "5", "-5"]);
    r.ask(&["LPOP", "big", "100"]);
    let log = entries(&r);
    let fresh = Keyspace::new(16);
    for (seq, effects) in &log {
        fresh.apply_entry(*seq, effects);
    }
    assert_eq!(list_of(&fresh, "big"), list_of(&r.shared.keyspace, "big"));
    assert_eq!(r.ask(&["LLEN", "big"]), ":491\r\n");
}
