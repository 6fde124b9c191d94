//! The real binary on a free loopback port, through the `redis` crate and raw TCP.

mod common;

use common::{err_text, Server};
use redis::{Commands, RedisResult, Value};
use std::time::Duration;

#[test]
fn strings_counters_and_ttls_behave_like_redis() {
    let srv = Server::start(&[]);
    let mut c = srv.client();
    let _: () = c.set("k", "v").unwrap();
    assert_eq!(c.get::<_, String>("k").unwrap(), "v");
    assert_eq!(c.incr::<_, _, i64>("n", 5).unwrap(), 5);
    assert_eq!(c.append::<_, _, i64>("k", "w").unwrap(), 2);
    let r: RedisResult<i64> = c.incr("k", 1);
    assert_eq!(err_text(r), "ERR value is not an integer or out of range");
    let _: () = redis::cmd("SET")
        .arg("t")
        .arg("x")
        .arg("EX")
        .arg(100)
        .query(&mut c)
        .unwrap();
    let ttl: i64 = c.ttl("t").unwrap();
    assert!((99..=100).contains(&ttl));
    let bin = vec![0u8, 255, 13, 10, 0];
    let _: () = c.set(&bin[..], &bin[..]).unwrap();
    assert_eq!(c.get::<_, Vec<u8>>(&bin[..]).unwrap(), bin);
}

#[test]
fn wrong_arity_and_unknown_commands_keep_the_connection() {
    let srv = Server::start(&[]);
    let mut c = srv.client();
    let r: RedisResult<()> = redis::cmd("GET").query(&mut c);
    assert_eq!(
        err_text(r),
        "ERR wrong number of arguments for 'get' command"
    );
    let r: RedisResult<()> = redis::cmd("NOSUCH").arg("a").query(&mut c);
    assert_eq!(
        err_text(r),
        "ERR unknown command 'NOSUCH', with args beginning with: 'a' "
    );
    assert_eq!(redis::cmd("PING").query::<String>(&mut c).unwrap(), "PONG");
}

#[test]
fn versions_come_from_one_clock_and_never_repeat() {
    let srv = Server::start(&[]);
    let mut c = srv.client();
    let none: Option<u64> = redis::cmd("VERSION").arg("a").query(&mut c).unwrap();
    assert_eq!(none, None);
    let _: () = c.set("a", "1").unwrap();
    let v1: u64 = redis::cmd("VERSION").arg("a").query(&mut c).unwrap();
    let _: () = c.set("b", "1").unwrap();
    let _: () = c.del("a").unwrap();
    let _: () = c.set("a", "2").unwrap();
    let v2: u64 = redis::cmd("VERSION").arg("a").query(&mut c).unwrap();
    assert!(
        v2 > v1 + 1,
        "re-created key gets a fresh version ({v1} -> {v2})"
    );
}

#[test]
fn set_if_version_is_compare_and_set() {
    let srv = Server::start(&[]);
    let mut c = srv.client();
    let ok: Option<String> = redis::cmd("SET")
        .arg("k")
        .arg("a")
        .arg("IF")
        .arg("VERSION")
        .arg(0)
        .query(&mut c)
        .unwrap();
    assert_eq!(ok.as_deref(), Some("OK"));
    let v: u64 = redis::cmd("VERSION").arg("k").query(&mut c).unwrap();
    let miss: Option<String> = redis::cmd("SET")
        .arg("k")
        .arg("b")
        .arg("IF")
        .arg("VERSION")
        .arg(v + 1)
        .query(&mut c)
        .unwrap();
    assert_eq!(miss, None);
    assert_eq!(c.get::<_, String>("k").unwrap(), "a");
    let again: Option<String> = redis::cmd("SET")
        .arg("k")
        .arg("b")
        .arg("IF")
        .arg("VERSION")
        .arg(0)
        .query(&mut c)
        .unwrap();
    assert_eq!(again, None, "IF VERSION 0 only when absent");
    let hit: Option<String> = redis::cmd("SET")
        .arg("k")
        .arg("b")
        .arg("IF")
        .arg("VERSION")
        .arg(v)
        .query(&mut c)
        .unwrap();
    assert_eq!(hit.as_deref(), Some("OK"));
    assert_eq!(c.get::<_, String>("k").unwrap(), "b");
}

#[test]
fn watch_aborts_exec_on_write_delete_and_create_then_delete() {
    let srv = Server::start(&[]);
    let mut a = srv.client();
    let mut b = srv.client();
    for disturb in ["write", "delete", "create-delete", "flushall"] {
        let _: () = a.set("w", "0").unwrap();
        if disturb == "create-delete" {
            let _: () = a.del("w").unwrap();
        }
        let _: () = redis::cmd("WATCH").arg("w").query(&mut a).unwrap();
        match disturb {
            "write" => b.set::<_, _, ()>("w", "1").unwrap(),
            "delete" => b.del::<_, ()>("w").unwrap(),
            "create-delete" => {
                b.set::<_, _, ()>("w", "1").unwrap();
                b.del::<_, ()>("w").unwrap();
            }
            _ => redis::cmd("FLUSHALL").query::<()>(&mut b).unwrap(),
        }
        let _: () = redis::cmd("MULTI").query(&mut a).unwrap();
        let _: String = redis::cmd("SET").arg("w").arg("tx").query(&mut a).unwrap();
        let res: Value = redis::cmd("EXEC").query(&mut a).unwrap();
        assert_eq!(res, Value::Nil, "EXEC after {disturb}");
    }
    // Untouched watch: EXEC runs.
    let _: () = redis::cmd("WATCH").arg("w").query(&mut a).unwrap();
    let _: () = redis::cmd("MULTI").query(&mut a).unwrap();
    let _: String = redis::cmd("SET").arg("w").arg("tx").query(&mut a).unwrap();
    let res: Vec<String> = redis::cmd("EXEC").query(&mut a).unwrap();
    assert_eq!(res, vec!["OK"]);
}

#[test]
fn queued_syntax_errors_abort_but_runtime_errors_do_not() {
    let srv = Server::start(&[]);
    let mut r = srv.raw();
    r.send(b"MULTI\r\nSET a\r\nSET b 1\r\nEXEC\r\n");
    assert_eq!(r.line(), "+OK\r\n");
    assert!(r.line().starts_with("-ERR wrong number of arguments"));
    assert_eq!(r.line(), "+QUEUED\r\n");
    assert_eq!(
        r.line(),
        "-EXECABORT Transaction discarded because of previous errors.\r\n"
    );
    r.send(b"SET s text\r\nMULTI\r\nINCR s\r\nSET c 1\r\nEXEC\r\nGET c\r\n");
    assert_eq!(r.line(), "+OK\r\n");
    assert_eq!(r.line(), "+OK\r\n");
    assert_eq!(r.line(), "+QUEUED\r\n");
    assert_eq!(r.line(), "+QUEUED\r\n");
    assert_eq!(r.line(), "*2\r\n");
    assert_eq!(r.line(), "-ERR value is not an integer or out of range\r\n");
    assert_eq!(r.line(), "+OK\r\n");
    assert_eq!(r.line(), "$1\r\n");
}

#[test]
fn inline_commands_and_deep_pipelines_work() {
    let srv = Server::start(&[]);
    let mut r = srv.raw();
    r.send(b"PING\r\n");
    assert_eq!(r.line(), "+PONG\r\n");
    let mut batch = Vec::new();
    let n = 100_000;
    for i in 0..n {
        let k = format!("key:{i}");
        batch.extend_from_slice(
            format!("*3\r\n$3\r\nSET\r\n${}\r\n{}\r\n$1\r\nv\r\n", k.len(), k).as_bytes(),
        );
    }
    let mut w = r.s.try_clone().unwrap();
    let writer = std::thread::spawn(move || {
        use std::io::Write;
        w.write_all(&batch).unwrap();
    });
    let replies = r.read_exactly(5 * n);
    writer.join().unwrap();
    assert_eq!(replies.len(), 5 * n);
    assert!(replies.chunks(5).all(|c| c == b"+OK\r\n"));
    let mut c = srv.client();
    assert_eq!(redis::cmd("DBSIZE").query::<i64>(&mut c).unwrap(), n as i64);
}

#[test]
fn oversized_bulk_closes_only_that_connection() {
    let srv = Server::start(&[]);
    let mut bad = srv.raw();
    bad.send(b"*2\r\n$3\r\nGET\r\n$600000000\r\n");
    assert_eq!(bad.line(), "-ERR Protocol error: invalid bulk length\r\n");
    assert!(bad.closed());
    let mut garbage = srv.raw();
    garbage.send(b"*1\r\n:12\r\n");
    assert!(garbage.line().starts_with("-ERR Protocol error"));
    assert!(garbage.closed());
    let mut good = srv.client();
    assert_eq!(
        redis::cmd("PING").query::<String>(&mut good).unwrap(),
        "PONG"
    );
}

#[test]
fn maxclients_is_enforced_with_redis_error() {
    let srv = Server::start(&["--maxclients", "2"]);
    let mut a = srv.raw();
    a.send(b"PING\r\n");
    assert_eq!(a.line(), "+PONG\r\n");
    let mut b = srv.raw();
    b.send(b"PING\r\n");
    assert_eq!(b.line(), "+PONG\r\n");
    // The start-up probe's connection may still be closing: wait until only a and b remain.
    for _ in 0..200 {
        b.send(b"INFO clients\r\n");
        let header = b.line();
        let len: usize = header.trim_start_matches('$').trim().parse().unwrap();
        let body = String::from_utf8(b.read_exactly(len + 2)).unwrap();
        if body.contains("connected_clients:2\r\n") {
            break;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    let mut c = srv.raw();
    assert_eq!(c.line(), "-ERR max number of clients reached\r\n");
}

#[test]
fn requirepass_gates_commands_until_auth() {
    let srv = Server::start(&["--requirepass", "s3cret"]);
    let mut r = srv.raw();
    r.send(b"GET a\r\n");
    assert_eq!(r.line(), "-NOAUTH Authentication required.\r\n");
    r.send(b"AUTH wrong\r\n");
    assert_eq!(
        r.line(),
        "-WRONGPASS invalid username-password pair or user is disabled.\r\n"
    );
    r.send(b"AUTH s3cret\r\nPING\r\n");
    assert_eq!(r.line(), "+OK\r\n");
    assert_eq!(r.line(), "+PONG\r\n");
}

#[test]
fn hello_3_switches_to_resp3_replies() {
    let srv = Server::start(&[]);
    let mut r = srv.raw();
    r.send(b"HELLO 3\r\n");
    assert_eq!(r.line(), "%7\r\n");
    for _ in 0..14 {
        let l = r.line();
        if l.starts_with('$') {
            r.line();
        } else if l.starts_with('*') {
        }
    }
    r.send(b"GET nothing\r\n");
    assert_eq!(r.line(), "_\r\n");
}

#[test]
fn keys_with_ttl_disappear_without_being_read() {
    let srv = Server::start(&["--hz", "50"]);
    let mut c = srv.client();
    for i in 0..50 {
        let _: () = redis::cmd("SET")
            .arg(format!("e{i}"))
            .arg("v")
            .arg("PX")
            .arg(30)
            .query(&mut c)
            .unwrap();
    }
    let _: () = c.set("keep", "v").unwrap();
    let mut size = 0;
    for _ in 0..100 {
        std::thread::sleep(Duration::from_millis(20));
        size = redis::cmd("DBSIZE").query(&mut c).unwrap();
        if size == 1 {
            break;
        }
    }
    assert_eq!(size, 1, "expired keys are removed by the active cycle");
}

#[test]
fn bad_config_refuses_to_start_naming_the_directive() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_vaylix"))
        .args(["--appendfsync", "sometimes", "--port", "0"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("appendfsync"), "{err}");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_vaylix"))
        .args(["--no-such-thing", "1"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("no-such-thing"));
}

#[test]
fn async_client_works_with_defaults() {
    let srv = Server::start(&[]);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let client = redis::Client::open(srv.url()).unwrap();
        let mut con = client.get_multiplexed_async_connection().await.unwrap();
        let _: () = redis::AsyncCommands::set(&mut con, "ak", "av")
            .await
            .unwrap();
        let v: String = redis::AsyncCommands::get(&mut con, "ak").await.unwrap();
        assert_eq!(v, "av");
    });
}
