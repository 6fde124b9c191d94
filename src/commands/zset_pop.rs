//! The sorted-set family: pops and random picks (ZPOPMIN, ZPOPMAX, ZMPOP, ZRANDMEMBER) and
//! ZSCAN. Pops log the members they took (a `ZRem`); random choices are made here, before
//! anything is logged, so replay never draws a random number.

#[allow(unused_imports)]
use super::zset::*;
#[allow(unused_imports)]
use super::*;

pub const COMMANDS: &[CommandSpec] = &[];
