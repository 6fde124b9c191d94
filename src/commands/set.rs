//! The SET family. (Being filled in: see issue 12.)

use super::CommandSpec;

pub const COMMANDS: &[CommandSpec] = &[];
