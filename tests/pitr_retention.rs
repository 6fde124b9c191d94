//! PITR retention with the default settings (issue 11, item 8): the shutdown snapshot no longer
//! prunes the history, so an accidental FLUSHALL can be undone after a restart.

mod common;

use common::{info_field, now_ms, p, vaylix, Server};
use std::time::Duration;

/// Unix ms as RFC 3339 UTC (civil-from-days, proleptic Gregorian).
fn rfc3339(ms: u64) -> String {
    let secs = ms / 1000;
    let days = (secs / 86_400) as i64;
    let rem = secs % 86_400;
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{:03}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60,
        ms % 1000
    )
}

#[test]
fn pitr_restore_before_flushall_recovers_every_key_after_restart_with_defaults() {
    let mut s = Server::start(&[]);
    let mut c = s.client();
    for i in 0..100 {
        let _: () = redis::cmd("SET")
            .arg(format!("key{i}"))
            .arg(format!("value{i}"))
            .query(&mut c)
            .unwrap();
    }
    std::thread::sleep(Duration::from_millis(30));
    let before_flush = now_ms();
    std::thread::sleep(Duration::from_millis(30));
    let _: () = redis::cmd("FLUSHALL").query(&mut c).unwrap();
    assert_eq!(info_field(&mut c, "pitr_retention_sec"), "86400");
    drop(c);
    // SIGTERM takes the shutdown snapshot, which used to prune the whole WAL.
    assert!(s.terminate().success());
    let mut s2 = Server::start_in(&s.dir, &[]);
    let mut c = s2.client();
    let n: i64 = redis::cmd("DBSIZE").query(&mut c).unwrap();
    assert_eq!(n, 0);
    assert_eq!(info_field(&mut c, "pitr_window_start_seq"), "0");
    drop(c);
    assert!(s2.terminate().success());

    let (code, out, err) = vaylix(&["pitr", "inspect", "--data-dir", p(&s.dir), "--json"]);
    assert_eq!(code, 0, "{out}\n{err}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["window"][0]["from_seq"], 0, "{v}");

    let tmp = tempfile::tempdir().unwrap();
    let target = tmp.path().join("restored");
    let (code, out, err) = vaylix(&[
        "pitr",
        "restore",
        "--source-dir",
        p(&s.dir),
        "--target-dir",
        p(&target),
        "--to-time",
        &rfc3339(before_flush),
    ]);
    assert_eq!(code, 0, "{out}\n{err}");
    let r = Server::start_in(&target, &[]);
    let mut c = r.client();
    let n: i64 = redis::cmd("DBSIZE").query(&mut c).unwrap();
    assert_eq!(n, 100, "{out}");
    for i in 0..100 {
        let v: Option<String> = redis::cmd("GET")
            .arg(format!("key{i}"))
            .query(&mut c)
            .unwrap();
        assert_eq!(v, Some(format!("value{i}")));
    }
}

#[test]
fn pitr_retention_zero_keeps_only_what_recovery_needs() {
    let mut s = Server::start(&["--pitr-retention", "0"]);
    let mut c = s.client();
    for i in 0..20 {
        let _: () = redis::cmd("SET")
            .arg(format!("k{i}"))
            .arg(i)
            .query(&mut c)
            .unwrap();
    }
    let _: () = redis::cmd("SAVE").query(&mut c).unwrap();
    let start: u64 = info_field(&mut c, "pitr_window_start_seq").parse().unwrap();
    assert_eq!(start, 20, "the window starts at the only snapshot");
    drop(c);
    assert!(s.terminate().success());
}
