//! The sorted-set family: ranges (ZRANGE with BYSCORE/BYLEX/REV/LIMIT/WITHSCORES, ZRANGEBYSCORE, ZREVRANGEBYSCORE, ZRANGEBYLEX, ZREVRANGEBYLEX, ZREVRANGE, ZRANGESTORE).

#[allow(unused_imports)]
use super::zset::*;
#[allow(unused_imports)]
use super::*;

pub const COMMANDS: &[CommandSpec] = &[];
