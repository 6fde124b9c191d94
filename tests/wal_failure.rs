//! The real binary on a real full file system: after the WAL fails (ENOSPC on a small tmpfs),
//! writes get MISCONF and every read still answers on the same connection: durable keys with
//! their values, INFO with the failure, and replies that would show a failed write with an
//! error. Needs permission to mount a tmpfs (root); skipped with a message otherwise.

mod common;

use common::{Raw, Server};
use std::path::{Path, PathBuf};
use std::process::Command;

/// One RESP reply.
#[derive(Debug, PartialEq)]
enum Reply {
    Simple(String),
    Error(String),
    Int(i64),
    Bulk(Option<Vec<u8>>),
    Array(Vec<Reply>),
    /// The server closed the connection (or did not answer in time).
    Closed,
}

fn read_reply(raw: &mut Raw) -> Reply {
    let line = raw.line();
    let Some(body) = line.strip_suffix("\r\n") else {
        return Reply::Closed;
    };
    let (kind, rest) = body.split_at(1);
    match kind {
        "+" => Reply::Simple(rest.into()),
        "-" => Reply::Error(rest.into()),
        ":" => Reply::Int(rest.parse().unwrap()),
        "$" => {
            let n: i64 = rest.parse().unwrap();
            if n < 0 {
                return Reply::Bulk(None);
            }
            let mut b = raw.read_exactly(n as usize + 2);
            if b.len() != n as usize + 2 {
                return Reply::Closed;
            }
            b.truncate(n as usize);
            Reply::Bulk(Some(b))
        }
        "*" => {
            let n: i64 = rest.parse().unwrap();
            let mut items = Vec::new();
            for _ in 0..n.max(0) {
                let r = read_reply(raw);
                if r == Reply::Closed {
                    return Reply::Closed;
                }
                items.push(r);
            }
            Reply::Array(items)
        }
        _ => panic!("not RESP: {line:?}"),
    }
}

fn command(args: &[&[u8]]) -> Vec<u8> {
    let mut out = format!("*{}\r\n", args.len()).into_bytes();
    for a in args {
        out.extend_from_slice(format!("${}\r\n", a.len()).as_bytes());
        out.extend_from_slice(a);
        out.extend_from_slice(b"\r\n");
    }
    out
}

fn ask(raw: &mut Raw, args: &[&str]) -> Reply {
    let args: Vec<&[u8]> = args.iter().map(|a| a.as_bytes()).collect();
    raw.send(&command(&args));
    read_reply(raw)
}

/// The error replies a read may give once the WAL has failed (see docs/storage-format.md).
fn is_not_durable_error(r: &Reply) -> bool {
    matches!(r, Reply::Error(e) if e.starts_with("MISCONF"))
}

/// A tmpfs mounted for the test, unmounted on drop (after the server using it is gone).
struct Tmpfs {
    dir: PathBuf,
}

impl Tmpfs {
    fn mount(dir: &Path, size: &str) -> Option<Tmpfs> {
        std::fs::create_dir_all(dir).ok()?;
        let out = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(dir)
            .output()
            .ok()?;
        if !out.status.success() {
            eprintln!(
                "skipped: cannot mount a tmpfs here ({}): run as root to test a full disk",
                String::from_utf8_lossy(&out.stderr).trim()
            );
            return None;
        }
        Some(Tmpfs {
            dir: dir.to_path_buf(),
        })
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.dir).status();
    }
}

#[test]
fn reads_keep_answering_after_the_disk_fills_up() {
    let tmp = tempfile::tempdir().unwrap();
    let Some(fs) = Tmpfs::mount(&tmp.path().join("mnt"), "20m") else {
        return;
    };
    let srv = Server::start_in(&fs.dir.join("data"), &[]);
    let mut c = srv.raw();
    // A subscriber to every SET's keyspace event, and to a sentinel channel.
    assert_eq!(
        ask(&mut c, &["CONFIG", "SET", "notify-keyspace-events", "E$"]),
        Reply::Simple("OK".into())
    );
    let mut sub = srv.raw();
    sub.send(&command(&[
        b"SUBSCRIBE",
        b"__keyevent@0__:set",
        b"sentinel",
    ]));
    for _ in 0..2 {
        assert!(matches!(read_reply(&mut sub), Reply::Array(_)));
    }
    let n = 500;
    for i in 0..n {
        let (k, v) = (format!("d:{i}"), format!("value-{i}"));
        assert_eq!(ask(&mut c, &["SET", &k, &v]), Reply::Simple("OK".into()));
    }
    // Fill the disk until the WAL fails.
    let big = vec![b'x'; 256 << 10];
    let mut failed = None;
    let mut acked: std::collections::HashSet<Vec<u8>> =
        (0..n).map(|i| format!("d:{i}").into_bytes()).collect();
    for i in 0..400 {
        let key = format!("fill:{i}");
        c.send(&command(&[b"SET", key.as_bytes(), &big]));
        match read_reply(&mut c) {
            Reply::Simple(s) if s == "OK" => {
                acked.insert(key.into_bytes());
            }
            r => {
                failed = Some(r);
                break;
            }
        }
    }
    let failed = failed.expect("a 20 MB tmpfs took 100 MB of writes");
    assert!(
        is_not_durable_error(&failed),
        "the failing SET got {failed:?}"
    );
    assert!(is_not_durable_error(&ask(&mut c, &["SET", "later", "1"])));

    // The subscriber heard of no write that was not acknowledged, and is still served.
    let mut fresh = srv.raw();
    assert_eq!(
        ask(&mut fresh, &["PUBLISH", "sentinel", "end"]),
        Reply::Int(1)
    );
    let mut heard = 0;
    loop {
        let Reply::Array(m) = read_reply(&mut sub) else {
            panic!("the subscriber lost its connection");
        };
        match &m[..] {
            [_, Reply::Bulk(Some(ch)), _] if ch == b"sentinel" => break,
            [_, _, Reply::Bulk(Some(key))] => {
                assert!(
                    acked.contains(key),
                    "event for the unacknowledged write {}",
                    String::from_utf8_lossy(key)
                );
                heard += 1;
            }
            other => panic!("unexpected message {other:?}"),
        }
    }
    assert!(
        heard >= n,
        "only {heard} events for {n} acknowledged writes"
    );
    drop(sub);

    // The same connection and a new one both keep answering every read.
    for c in [&mut c, &mut fresh] {
        match ask(c, &["INFO"]) {
            Reply::Bulk(Some(b)) => {
                let info = String::from_utf8(b).unwrap();
                for section in ["# Server", "# Clients", "# Persistence", "# Keyspace"] {
                    assert!(info.contains(section), "INFO lacks {section}");
                }
            }
            r => panic!("INFO answered {r:?}"),
        }
        for section in [
            "server",
            "clients",
            "memory",
            "stats",
            "replication",
            "cpu",
            "keyspace",
            "all",
            "everything",
        ] {
            let r = ask(c, &["INFO", section]);
            assert!(matches!(r, Reply::Bulk(Some(_))), "INFO {section}: {r:?}");
        }
        match ask(c, &["INFO", "persistence"]) {
            Reply::Bulk(Some(b)) => {
                let info = String::from_utf8(b).unwrap();
                assert!(info.contains("wal_poisoned:1"), "{info}");
                assert!(info.contains("aof_last_write_status:err"), "{info}");
                let err = info
                    .lines()
                    .find_map(|l| l.strip_prefix("wal_poison_error:"))
                    .unwrap_or_default();
                assert!(!err.is_empty(), "no wal_poison_error in {info}");
            }
            r => panic!("INFO persistence answered {r:?}"),
        }
        let r = ask(c, &["DBSIZE"]);
        assert!(
            matches!(r, Reply::Int(_)) || is_not_durable_error(&r),
            "{r:?}"
        );
        let r = ask(c, &["RANDOMKEY"]);
        assert!(
            matches!(r, Reply::Bulk(_)) || is_not_durable_error(&r),
            "{r:?}"
        );
        let r = ask(c, &["BACKUP"]);
        assert!(
            matches!(r, Reply::Bulk(Some(_))) || is_not_durable_error(&r),
            "BACKUP answered {:.100}",
            format!("{r:?}")
        );
        for shard in 0..256 {
            let r = ask(c, &["SCAN", &shard.to_string(), "COUNT", "1"]);
            assert!(
                matches!(r, Reply::Array(_)) || is_not_durable_error(&r),
                "SCAN {shard}: {r:?}"
            );
        }
        for i in 0..n {
            let (k, v) = (format!("d:{i}"), format!("value-{i}"));
            assert_eq!(
                ask(c, &["GET", &k]),
                Reply::Bulk(Some(v.into_bytes())),
                "GET {k}"
            );
        }
        assert_eq!(ask(c, &["PING"]), Reply::Simple("PONG".into()));
    }
    drop(c);
    drop(fresh);
    drop(srv);
}
