//! Offline operator tools: `vaylix storage verify|migrate`, `vaylix pitr inspect|restore`
//! (and the `vaylix backup verify` seam).
//!
//! Owns: the command line of these tools (clap), their human and `--json` output, progress bars
//! and exit codes. They run while the server is down and go through the storage engine's own
//! readers and writers ([`Keyring`], [`Manifest`], [`SnapshotReader`](crate::storage::snapshot),
//! [`SegmentReader`](crate::storage::wal), [`SnapshotWriter`](crate::storage::snapshot)): no
//! format is parsed twice. Invariants: `verify`, `inspect` and `restore` never write to the
//! data dir they read (restore writes only its new target dir); `migrate` is the only tool that
//! changes a data dir, and it does so crash-safely (new files first, then the manifest switch,
//! then the keyring).
//!
//! Exit codes: 0 success / sound; 1 the tool could not do its work (bad arguments, wrong master
//! key, I/O error, refused restore); 2 usage error (clap) or a tool not in this build;
//! 3 `storage verify` found only a repairable torn tail; 4 `storage verify` found damage.

mod dir;
mod migrate;
mod pitr;
mod time;
mod verify;

use std::io::IsTerminal;
use std::path::{Path, PathBuf};

use anyhow::{anyhow, bail, Context, Result};
use clap::{Args, Parser, Subcommand};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::storage::crypto::SecretKey;
use crate::storage::{parse_key_file, MASTER_KEY_FILE};

/// Exit code: everything is sound / the command succeeded.
pub const EXIT_OK: i32 = 0;
/// Exit code: the command could not do its work.
pub const EXIT_FAILED: i32 = 1;
/// Exit code: usage error or unavailable tool.
pub const EXIT_USAGE: i32 = 2;
/// Exit code of `storage verify`: sound except a repairable torn tail of the active segment.
pub const EXIT_REPAIRABLE: i32 = 3;
/// Exit code of `storage verify`: corruption or an inconsistency the server would refuse.
pub const EXIT_DAMAGED: i32 = 4;

#[derive(Parser)]
#[command(
    name = "vaylix",
    version,
    about = "vaylix offline operator tools (run them while the server is stopped)",
    disable_help_subcommand = true
)]
struct Cli {
    #[command(subcommand)]
    tool: Tool,
}

#[derive(Subcommand)]
enum Tool {
    /// Check or upgrade a data dir.
    #[command(subcommand)]
    Storage(StorageCmd),
    /// Point-in-time recovery: show the restorable window, restore into a new data dir.
    #[command(subcommand)]
    Pitr(PitrCmd),
    /// Logical backup files.
    #[command(subcommand)]
    Backup(BackupCmd),
}

#[derive(Subcommand)]
enum StorageCmd {
    /// Read-only check of every file: keyring, manifest, every snapshot chunk, every WAL frame,
    /// sequence continuity. One line per file and a summary. Exit 0 = sound, 3 = only a
    /// repairable torn tail (an incomplete final frame of the active segment, which the server
    /// cuts at start), 4 = damaged, 1 = could not check (e.g. wrong master key).
    Verify(verify::VerifyArgs),
    /// Rewrite snapshots and WAL segments sealed with non-active data keys under the active key
    /// and retire keys no file needs. Crash-safe; the server must be stopped (refused when a
    /// process holds the active segment open). `--dry-run` only reports the plan.
    Migrate(migrate::MigrateArgs),
}

#[derive(Subcommand)]
enum PitrCmd {
    /// Snapshots, WAL segments, the restorable window (sequences and times) and gaps.
    ///
    /// Times: every WAL frame carries its commit time, so an entry's time is the time its
    /// group-commit batch was sealed (millisecond precision). Frames written by builds before
    /// frame times, and snapshots, are timed by file modification time (an upper bound).
    Inspect(pitr::InspectArgs),
    /// Build a new data dir at exactly one sequence from the newest usable snapshot plus the
    /// WAL. The source dir is only read; the target must not exist or be empty.
    ///
    /// --to-time/--to-timestamp-ms restore every entry committed at or before that time and
    /// nothing after: the last entry of the longest run of WAL frames whose commit time is
    /// <= the target (frames of older builds count by their segment's modification time).
    /// `pitr inspect` shows each segment's entry times; --to-sequence gives exact control.
    Restore(pitr::RestoreArgs),
}

#[derive(Subcommand)]
enum BackupCmd {
    /// Verify a logical backup file against its sidecar manifest.
    Verify {
        /// The backup file.
        file: PathBuf,
        /// Machine-readable output.
        #[arg(long)]
        json: bool,
    },
}

/// Master-key options shared by every tool.
#[derive(Args, Debug, Clone)]
pub struct KeyArgs {
    /// File holding the master key (64 hex characters or 32 raw bytes). Default: the
    /// VAYLIX_MASTER_KEY environment variable (64 hex), else <data-dir>/master.key.
    #[arg(long, value_name = "FILE")]
    pub master_key_file: Option<PathBuf>,
}

/// Output options shared by every tool.
#[derive(Args, Debug, Clone)]
pub struct OutArgs {
    /// Machine-readable JSON on stdout instead of text.
    #[arg(long)]
    pub json: bool,
}

/// Where the master key came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyOrigin {
    File(PathBuf),
    Env,
    /// `<data-dir>/master.key`.
    Embedded,
}

/// Resolves the master key like the server does (`--master-key-file`, `VAYLIX_MASTER_KEY`,
/// `<data-dir>/master.key`), except that it never generates an embedded key.
pub fn master_key(data_dir: &Path, k: &KeyArgs) -> Result<(SecretKey, KeyOrigin)> {
    if let Some(p) = &k.master_key_file {
        let b = std::fs::read(p).with_context(|| format!("reading master key {}", p.display()))?;
        let key = parse_key_file(&b, &p.display().to_string())?;
        return Ok((key, KeyOrigin::File(p.clone())));
    }
    if let Ok(hex) = std::env::var("VAYLIX_MASTER_KEY") {
        let key = SecretKey::from_hex(&hex)
            .ok_or_else(|| anyhow!("VAYLIX_MASTER_KEY must be 64 hex characters"))?;
        return Ok((key, KeyOrigin::Env));
    }
    let p = data_dir.join(MASTER_KEY_FILE);
    match std::fs::read(&p) {
        Ok(b) => Ok((parse_key_file(&b, MASTER_KEY_FILE)?, KeyOrigin::Embedded)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => bail!(
            "no master key: pass --master-key-file, set VAYLIX_MASTER_KEY, or keep {} \
             (the embedded default) in the data dir",
            p.display()
        ),
        Err(e) => Err(anyhow!(e).context(format!("reading {}", p.display()))),
    }
}

/// Checks that `dir` is an existing directory.
pub fn require_dir(dir: &Path) -> Result<()> {
    let md = std::fs::metadata(dir).with_context(|| format!("data dir {}", dir.display()))?;
    if !md.is_dir() {
        bail!("{} is not a directory", dir.display());
    }
    Ok(())
}

/// A byte progress bar on stderr, drawn only when stderr is a terminal.
pub fn progress(total: u64, msg: &str) -> ProgressBar {
    if !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let pb = ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::stderr());
    if let Ok(style) = ProgressStyle::with_template(
        "{msg:>12} [{bar:40}] {bytes}/{total_bytes} ({eta}) {wide_msg}",
    ) {
        pb.set_style(style.progress_chars("=> "));
    }
    pb.set_message(msg.to_string());
    pb
}

/// Prints a JSON value on stdout.
pub fn print_json(v: &serde_json::Value) {
    println!(
        "{}",
        serde_json::to_string_pretty(v).unwrap_or_else(|_| v.to_string())
    );
}

/// Runs an offline subcommand; `args` starts with the tool name (`storage`, `pitr`, `backup`).
/// Returns the process exit code.
pub fn run(args: &[String]) -> Result<i32> {
    // Like other command-line tools, end quietly when stdout is a closed pipe (`| head`).
    // SAFETY: restoring the default disposition of a signal; no handler code is involved.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
    let cli = match Cli::try_parse_from(
        std::iter::once("vaylix".to_string()).chain(args.iter().cloned()),
    ) {
        Ok(c) => c,
        Err(e) => {
            let _ = e.print();
            return Ok(match e.kind() {
                clap::error::ErrorKind::DisplayHelp | clap::error::ErrorKind::DisplayVersion => {
                    EXIT_OK
                }
                _ => EXIT_USAGE,
            });
        }
    };
    match cli.tool {
        Tool::Storage(StorageCmd::Verify(a)) => verify::run(&a),
        Tool::Storage(StorageCmd::Migrate(a)) => migrate::run(&a),
        Tool::Pitr(PitrCmd::Inspect(a)) => pitr::inspect(&a),
        Tool::Pitr(PitrCmd::Restore(a)) => pitr::restore(&a),
        Tool::Backup(BackupCmd::Verify { file, json }) => crate::backup::verify_file(&file, json),
    }
}
