//! BACKUP and RESTORE commands (being written).

use super::*;

pub static COMMANDS: &[CommandSpec] = &[];
