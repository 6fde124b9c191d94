//! The sorted-set family: multi-key algebra (ZUNION, ZINTER, ZDIFF, their STORE forms, ZINTERCARD; sets count as sorted sets with score 1).

#[allow(unused_imports)]
use super::zset::*;
#[allow(unused_imports)]
use super::*;

pub const COMMANDS: &[CommandSpec] = &[];
