//! BACKUP and RESTORE: logical dumps (docs/backup.md).
//!
//! Forms: `BACKUP`, `BACKUP TO <path>`, `BACKUP VERIFY <dump>`, `BACKUP VERIFY FROM <path>`,
//! `RESTORE <dump>`, `RESTORE FROM <path>`, `RESTORE CHECK <dump>`, `RESTORE CHECK FROM <path>`.
//! Redis's `RESTORE key ttl serialized-value [REPLACE] ...` is recognised by its shape — three or
//! more arguments whose second is an integer — and answered with an error (vaylix does not read
//! Redis DUMP payloads); none of the logical forms has that shape.
//!
//! Both commands run with `Scope::None` and take the keyspace barrier themselves (a restore must
//! take the storage's snapshot lock before the shard locks), are refused inside MULTI, and run
//! their file and storage work under `block_in_place` so the runtime moves other connections
//! off this worker thread.

use super::*;
use crate::backup::{self, BackupError, Loaded};
use crate::storage::SyncPolicy;

const FLAGS_BACKUP: &[&str] = &["admin", "noscript", "no_multi"];
const FLAGS_RESTORE: &[&str] = &["write", "admin", "noscript", "no_multi", "denyoom"];
const ACL: &[&str] = &["@admin", "@slow", "@dangerous"];

pub static COMMANDS: &[CommandSpec] = &[
    spec("backup", -1, FLAGS_BACKUP, NO_KEYS, ACL, Scope::None, "server", "Takes a consistent logical backup (JSON), to the reply or to a file under backup-dir; or verifies one.", backup_cmd),
    spec("restore", -2, FLAGS_RESTORE, NO_KEYS, ACL, Scope::None, "server", "Replaces the dataset with a logical backup, atomically and durably; or checks one.", restore_cmd),
];

const ERR_REDIS_RESTORE: &str = "ERR RESTORE key ttl serialized-value (Redis DUMP payloads) is not supported by vaylix; RESTORE <json-dump> and RESTORE FROM <path> restore logical backups";

fn blocking<T>(f: impl FnOnce() -> T) -> T {
    match tokio::runtime::Handle::try_current() {
        Ok(h) if h.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread => {
            tokio::task::block_in_place(f)
        }
        _ => f(),
    }
}

fn err(c: &mut Ctx, e: BackupError) {
    c.out.error(&format!("ERR {e}"));
}

/// Waits (blocking, bounded) until the WAL has acknowledged `seq` (durable under `appendfsync
/// always`, written under `everysec`/`no`, as replies do), so a backup file never holds writes a
/// crash could still take back.
fn wait_durable(c: &Ctx, seq: u64) -> bool {
    let Some(st) = c.shared.storage.as_ref() else {
        return true;
    };
    let always = st.sync_policy() == SyncPolicy::Always;
    let rx = st.durable();
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    loop {
        let d = *rx.borrow();
        if (if always { d.seq } else { st.written_seq() }) >= seq {
            return true;
        }
        if d.poisoned || std::time::Instant::now() > deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(1));
    }
}

fn reply_summary(c: &mut Ctx, l: &Loaded, manifest_checked: bool) {
    let now = c.now_ms;
    c.out.map(8);
    c.out.bulk(b"version");
    c.out.int(l.dump.version as i64);
    c.out.bulk(b"entries");
    c.out.int(l.dump.entries.len() as i64);
    c.out.bulk(b"live_entries");
    c.out.int(l.dump.live_entries(now) as i64);
    c.out.bulk(b"byte_len");
    c.out.int(l.byte_len as i64);
    c.out.bulk(b"sha256");
    c.out.bulk(l.sha256.as_bytes());
    c.out.bulk(b"source_sequence");
    match l.dump.source_sequence {
        Some(s) => c.out.int(s as i64),
        None => c.out.null(),
    }
    c.out.bulk(b"manifest_checked");
    c.out.int(manifest_checked as i64);
    // Keys (entries) per type, every type listed, so a client sees the shape without guessing.
    let counts = l.dump.kind_counts();
    c.out.bulk(b"types");
    c.out.map(counts.len());
    for (kind, n) in counts {
        c.out.bulk(kind.type_name().as_bytes());
        c.out.int(n as i64);
    }
}

fn load_path(c: &Ctx, path: &[u8], keep_values: bool) -> Result<Loaded, BackupError> {
    let root = backup::backup_dir(&c.shared.config);
    let target = backup::sandbox::resolve(&root, path)?;
    blocking(|| backup::load_file(&target, keep_values)).map(|(l, _)| l)
}

fn backup_cmd(c: &mut Ctx, argv: &[Bytes]) {
    match argv.len() {
        1 => {
            let cut = backup::cut(&c.shared.keyspace, c.now_ms);
            let body = blocking(|| backup::dump_to_vec(&cut));
            c.conn.observe(cut.seq);
            c.out.bulk(&body);
        }
        3 if eq(&argv[1], "to") => {
            let root = backup::backup_dir(&c.shared.config);
            let cut = backup::cut(&c.shared.keyspace, c.now_ms);
            if !blocking(|| wait_durable(c, cut.seq)) {
                return c.out.error(crate::server::MISCONF);
            }
            match blocking(|| backup::write_to(&root, &argv[2], &cut)) {
                Ok(w) => {
                    c.out.map(5);
                    c.out.bulk(b"path");
                    c.out.bulk(w.path.as_os_str().as_encoded_bytes());
                    c.out.bulk(b"entries");
                    c.out.int(w.sidecar.entry_count as i64);
                    c.out.bulk(b"byte_len");
                    c.out.int(w.sidecar.byte_len as i64);
                    c.out.bulk(b"sha256");
                    c.out.bulk(w.sidecar.sha256.as_bytes());
                    c.out.bulk(b"source_sequence");
                    c.out.int(cut.seq as i64);
                }
                Err(e) => err(c, e),
            }
        }
        3 if eq(&argv[1], "verify") => match blocking(|| backup::load_inline(&argv[2], false)) {
            Ok(l) => reply_summary(c, &l, false),
            Err(e) => err(c, e),
        },
        2 if eq(&argv[1], "help") => c.out.help(&[
            "BACKUP [<subcommand> [<arg> ...]]. Subcommands are:",
            "(no subcommand)",
            "    Return a consistent logical backup (JSON) of every database.",
            "TO <path>",
            "    Write the backup to <path> under backup-dir, with a sidecar manifest.",
            "VERIFY <dump>",
            "    Check a backup given inline, touching nothing.",
            "VERIFY FROM <path>",
            "    Check a backup file under backup-dir and its manifest, touching nothing.",
        ]),
        4 if eq(&argv[1], "verify") && eq(&argv[2], "from") => {
            match load_path(c, &argv[3], false) {
                Ok(l) => reply_summary(c, &l, true),
                Err(e) => err(c, e),
            }
        }
        _ => c.out.error(ERR_SYNTAX),
    }
}

fn restore_cmd(c: &mut Ctx, argv: &[Bytes]) {
    // Redis's form: RESTORE key ttl serialized-value [REPLACE] [ABSTTL] [IDLETIME s] [FREQ f].
    if argv.len() >= 4 && parse_i64(&argv[2]).is_some() {
        return c.out.error(ERR_REDIS_RESTORE);
    }
    let databases = c.shared.keyspace.databases();
    let check = eq(&argv[1], "check");
    let loaded = match argv.len() {
        // A JSON dump never reads `HELP`, so the word is free for the help.
        2 if eq(&argv[1], "help") => {
            return c.out.help(&[
                "RESTORE <dump> | RESTORE FROM <path> | RESTORE CHECK [FROM] <dump-or-path>",
                "<dump>",
                "    Replace the whole dataset with a logical backup given inline.",
                "FROM <path>",
                "    Replace the whole dataset with a backup file under backup-dir.",
                "CHECK <dump> | CHECK FROM <path>",
                "    Run every check RESTORE runs, touching nothing.",
            ]);
        }
        2 if !check => blocking(|| backup::load_inline(&argv[1], true)),
        3 if eq(&argv[1], "from") => load_path(c, &argv[2], true),
        3 if check => blocking(|| backup::load_inline(&argv[2], false)),
        4 if check && eq(&argv[2], "from") => load_path(c, &argv[3], false),
        _ => return c.out.error(ERR_SYNTAX),
    };
    let from_file = argv.len() == 4 || eq(&argv[1], "from");
    let loaded = match loaded.and_then(|l| l.dump.check_databases(databases).map(|()| l)) {
        Ok(l) => l,
        Err(e) => return err(c, e),
    };
    if check {
        return reply_summary(c, &loaded, from_file);
    }
    let (ks, storage, now) = (&c.shared.keyspace, c.shared.storage.as_deref(), c.now_ms);
    match blocking(|| backup::restore(ks, storage, loaded.dump, now)) {
        Ok(r) => {
            c.conn.observe(r.seq);
            // The dump's function libraries are the server's now: compile them.
            let scripting = &c.shared.scripting;
            blocking(|| scripting.functions.lock().sync(ks, crate::REDIS_VERSION));
            c.out.map(3);
            c.out.bulk(b"restored");
            c.out.int(r.restored as i64);
            c.out.bulk(b"skipped_expired");
            c.out.int(r.skipped_expired as i64);
            c.out.bulk(b"sequence");
            c.out.int(r.seq as i64);
        }
        Err(e) => err(c, e),
    }
}
