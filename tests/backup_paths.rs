//! BACKUP TO paths (issue 11): missing directories under backup-dir are created (mode 0700)
//! without loosening the sandbox, long file names are not defeated by the temp name, and dumps
//! from other producers with an integer `source_engine_version` restore.

mod common;

use common::{backups, err_text, int, Fields, Server};
use redis::{Commands, RedisResult};
use std::os::unix::fs::PermissionsExt;

fn backup_to(c: &mut redis::Connection, path: &str) -> RedisResult<Fields> {
    redis::cmd("BACKUP").arg("TO").arg(path).query(c)
}

fn mode(p: &std::path::Path) -> u32 {
    std::fs::symlink_metadata(p).unwrap().permissions().mode() & 0o777
}

#[test]
fn backup_to_a_missing_subdirectory_creates_it_0700_and_restore_from_reads_it() {
    let srv = Server::start(&[]);
    let mut c = srv.client();
    let _: () = c.set("k", "v").unwrap();
    let w = backup_to(&mut c, "nightly/2026-12-01/a.json").unwrap();
    assert_eq!(int(&w, "entries"), 1);
    let dir = backups(&srv);
    for d in [dir.join("nightly"), dir.join("nightly/2026-12-01")] {
        assert!(d.is_dir(), "{}", d.display());
        assert_eq!(mode(&d), 0o700, "{}", d.display());
    }
    let f = dir.join("nightly/2026-12-01/a.json");
    assert_eq!(mode(&f), 0o600);
    assert!(dir
        .join("nightly/2026-12-01/a.json.manifest.json")
        .is_file());
    // A second dump next to it uses the directory as it is.
    backup_to(&mut c, "nightly/b.json").unwrap();
    // Only the dump, its sidecar and the subdirectory: no temp file is left behind.
    let names: Vec<String> = std::fs::read_dir(dir.join("nightly/2026-12-01"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names.len(), 2, "{names:?}");

    let _: () = c.set("k", "changed").unwrap();
    let r: Fields = redis::cmd("RESTORE")
        .arg("FROM")
        .arg("nightly/2026-12-01/a.json")
        .query(&mut c)
        .unwrap();
    assert_eq!(int(&r, "restored"), 1);
    assert_eq!(c.get::<_, String>("k").unwrap(), "v");
    // Reads never create directories.
    let e = err_text(
        redis::cmd("RESTORE")
            .arg("FROM")
            .arg("weekly/a.json")
            .query::<Fields>(&mut c),
    );
    assert!(e.contains("No such file"), "{e}");
    assert!(!dir.join("weekly").exists());
}

#[test]
fn missing_directories_cannot_be_used_to_escape_backup_dir() {
    let srv = Server::start(&[]);
    let mut c = srv.client();
    let _: () = c.set("k", "v").unwrap();
    let dir = backups(&srv);
    std::fs::create_dir_all(&dir).unwrap();
    let outside = srv.dir.parent().unwrap().join("outside");
    std::fs::create_dir_all(&outside).unwrap();
    std::os::unix::fs::symlink(&outside, dir.join("linkdir")).unwrap();
    let abs_out = outside.join("new/abs.json");
    for (p, want) in [
        (
            "new/../../escape/x.json".to_string(),
            "must not contain '..'",
        ),
        ("../escape/x.json".to_string(), "must not contain '..'"),
        (abs_out.display().to_string(), "outside backup-dir"),
        ("linkdir/new/x.json".to_string(), "symbolic link"),
    ] {
        let e = err_text(backup_to(&mut c, &p));
        assert!(e.contains(want), "BACKUP TO {p}: {e}");
    }
    assert_eq!(
        std::fs::read_dir(&outside).unwrap().count(),
        0,
        "nothing outside"
    );
    assert!(!srv.dir.parent().unwrap().join("escape").exists());
    assert!(
        !dir.join("new").exists(),
        "a refused path creates no directory"
    );
}

#[test]
fn long_file_names_fit_because_the_temp_name_is_short() {
    let srv = Server::start(&[]);
    let mut c = srv.client();
    let _: () = c.set("k", "v").unwrap();
    // 241 bytes is the longest name whose sidecar (name + ".manifest.json") fits in 255.
    let longest = "a".repeat(241);
    let w = backup_to(&mut c, &longest).unwrap();
    assert_eq!(int(&w, "entries"), 1);
    let r: Fields = redis::cmd("RESTORE")
        .arg("FROM")
        .arg(&longest)
        .query(&mut c)
        .unwrap();
    assert_eq!(int(&r, "restored"), 1);
    // A 255-byte name cannot have a sidecar: refused up front, nothing written.
    let before = std::fs::read_dir(backups(&srv)).unwrap().count();
    let e = err_text(backup_to(&mut c, &"b".repeat(255)));
    assert!(
        e.contains("name is too long") && e.contains(".manifest.json"),
        "{e}"
    );
    assert_eq!(std::fs::read_dir(backups(&srv)).unwrap().count(), before);
}

#[test]
fn dumps_with_an_integer_source_engine_version_restore() {
    let srv = Server::start(&[]);
    let mut c = srv.client();
    for dump in [
        r#"{"version":2,"created_at_ms":1,"source_engine_version":3,"source_sequence":7,"entries":[{"key":"a","type":"string","value_base64":"eA==","version":7,"expires_at_ms":null}]}"#,
        r#"{"version":1,"source_engine_version":3,"entries":[{"key":"a","value":"x"}]}"#,
    ] {
        let chk: Fields = redis::cmd("RESTORE")
            .arg("CHECK")
            .arg(dump)
            .query(&mut c)
            .unwrap();
        assert_eq!(int(&chk, "entries"), 1, "{dump}");
        let r: Fields = redis::cmd("RESTORE").arg(dump).query(&mut c).unwrap();
        assert_eq!(int(&r, "restored"), 1, "{dump}");
        assert_eq!(c.get::<_, String>("a").unwrap(), "x");
    }
}
