//! Hostile client input must get a reply, never panic a connection task, and a connection's
//! client-registry entry and WATCH registrations must go away however it ends.

mod common;

use common::{Raw, Server};
use std::time::{Duration, Instant};

/// `DEBUG SLEEP <arg>` as a RESP command.
fn debug_sleep(arg: &str) -> Vec<u8> {
    format!(
        "*3\r\n$5\r\nDEBUG\r\n$5\r\nSLEEP\r\n${}\r\n{arg}\r\n",
        arg.len()
    )
    .into_bytes()
}

/// `connected_clients` from INFO clients, asked over `raw`.
fn connected_clients(raw: &mut Raw) -> u64 {
    raw.send(b"INFO clients\r\n");
    let header = raw.line();
    let len: usize = header
        .trim_start_matches('$')
        .trim()
        .parse()
        .unwrap_or_else(|_| panic!("INFO answered {header:?}"));
    let body = String::from_utf8(raw.read_exactly(len + 2)).unwrap();
    body.lines()
        .find_map(|l| l.strip_prefix("connected_clients:"))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or_else(|| panic!("no connected_clients in {body:?}"))
}

/// Number of lines CLIENT LIST prints, asked over `raw`.
fn client_list_len(raw: &mut Raw) -> usize {
    raw.send(b"CLIENT LIST\r\n");
    let header = raw.line();
    let len: usize = header.trim_start_matches('$').trim().parse().unwrap();
    let body = String::from_utf8(raw.read_exactly(len + 2)).unwrap();
    body.lines().filter(|l| l.starts_with("id=")).count()
}

/// Waits (bounded) until the server counts `want` clients, the asking one included.
fn wait_for_clients(raw: &mut Raw, want: u64) {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let n = connected_clients(raw);
        if n == want {
            assert_eq!(client_list_len(raw), want as usize);
            return;
        }
        assert!(
            Instant::now() < deadline,
            "connected_clients stayed at {n}, want {want}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn debug_sleep_answers_out_of_range_values_like_redis() {
    let srv = Server::start(&[]);
    let mut raw = srv.raw();
    // Redis 7.0 reads the argument with strtod and skips the sleep when the microsecond
    // count is negative or does not fit a long long: every one of these answers OK at once.
    for arg in [
        "1e30", "-1e30", "1e18", "9.3e12", "-1", "-0.5", "nan", "inf", "-inf", "abc", "",
    ] {
        let t = Instant::now();
        raw.send(&debug_sleep(arg));
        assert_eq!(raw.line(), "+OK\r\n", "DEBUG SLEEP {arg:?}");
        assert!(
            t.elapsed() < Duration::from_secs(2),
            "DEBUG SLEEP {arg:?} slept"
        );
    }
    raw.send(b"PING\r\n");
    assert_eq!(raw.line(), "+PONG\r\n");
    let t = Instant::now();
    raw.send(&debug_sleep("0.2"));
    raw.send(b"PING\r\n");
    assert_eq!(raw.line(), "+OK\r\n");
    assert_eq!(raw.line(), "+PONG\r\n");
    assert!(t.elapsed() >= Duration::from_millis(200));
}

#[test]
fn bad_input_and_abnormal_disconnects_never_exhaust_maxclients() {
    let srv = Server::start(&["--maxclients", "4"]);
    let mut admin = srv.raw();
    wait_for_clients(&mut admin, 1);
    // Three times the limit: each client WATCHes, sends input that once panicked its task,
    // and goes away without QUIT, in the middle of a long sleep or with a half-sent command.
    for i in 0..12 {
        let mut c = srv.raw();
        c.send(b"WATCH w1 w2\r\n");
        assert_eq!(c.line(), "+OK\r\n", "client {i} was refused");
        c.send(&debug_sleep("1e30"));
        assert_eq!(c.line(), "+OK\r\n");
        match i % 3 {
            0 => c.send(&debug_sleep("100000")),
            1 => c.send(b"*3\r\n$3\r\nSET\r\n$1\r\nk"),
            _ => {}
        }
        std::thread::sleep(Duration::from_millis(20));
        drop(c);
    }
    wait_for_clients(&mut admin, 1);
    // The slots are really free: the limit admits three more at once.
    let mut more: Vec<Raw> = (0..3).map(|_| srv.raw()).collect();
    for c in &mut more {
        c.send(b"PING\r\n");
        assert_eq!(c.line(), "+PONG\r\n");
    }
    wait_for_clients(&mut admin, 4);
    drop(more);
    wait_for_clients(&mut admin, 1);
    // No WATCH registration of the departed clients is left behind to misfire: a new watcher
    // of the same keys still gets its transaction through.
    admin.send(b"WATCH w1 w2\r\nMULTI\r\nSET w1 x\r\nEXEC\r\n");
    assert_eq!(admin.line(), "+OK\r\n");
    assert_eq!(admin.line(), "+OK\r\n");
    assert_eq!(admin.line(), "+QUEUED\r\n");
    assert_eq!(admin.line(), "*1\r\n");
    assert_eq!(admin.line(), "+OK\r\n");
}
