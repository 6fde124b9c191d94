//! Each key's access stamp, for `maxmemory` eviction and `OBJECT IDLETIME|FREQ`: 32 bits kept
//! in the entry, read and written under its shard's lock, never persisted (a recovered key
//! starts as if just created, as a key Redis loads from an AOF does).
//!
//! Two meanings, as in Redis, chosen by `maxmemory-policy` ([`set_policy`]):
//! - LRU: the access clock ([`clock_secs`], seconds) at the last access.
//! - LFU: `minutes (16 bits) ‖ counter (8 bits)`: the counter is a logarithmic access count
//!   (incremented with probability `1 / ((counter - 5) * lfu-log-factor + 1)`) that decays by
//!   one per `lfu-decay-time` minutes without access; new keys start at 5 so they are not
//!   evicted before they had a chance to be read.
//!
//! Switching between the two at run time reinterprets the stamps ("LRU and LFU data will take
//! some time to adjust", as Redis warns).

use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};

/// Redis's LFU_INIT_VAL.
pub const LFU_INIT: u32 = 5;

static LFU: AtomicBool = AtomicBool::new(false);
static LOG_FACTOR: AtomicU32 = AtomicU32::new(10);
static DECAY_MINUTES: AtomicU32 = AtomicU32::new(1);
/// The coarse clock (unix ms) the server's cron keeps; 0 until it first ticks.
static CLOCK_MS: AtomicU64 = AtomicU64::new(0);

/// Applies `maxmemory-policy`, `lfu-log-factor` and `lfu-decay-time`.
pub fn set_policy(policy: &str, log_factor: i64, decay_minutes: i64) {
    LFU.store(policy.ends_with("-lfu"), Ordering::Relaxed);
    LOG_FACTOR.store(u32::try_from(log_factor).unwrap_or(10), Ordering::Relaxed);
    DECAY_MINUTES.store(u32::try_from(decay_minutes).unwrap_or(1), Ordering::Relaxed);
}

pub fn lfu() -> bool {
    LFU.load(Ordering::Relaxed)
}

/// Called by the server's cron: one clock read per tick instead of one per access.
pub fn tick(now_ms: u64) {
    CLOCK_MS.store(now_ms, Ordering::Relaxed);
}

fn clock_ms() -> u64 {
    match CLOCK_MS.load(Ordering::Relaxed) {
        0 => crate::commands::now_ms(),
        ms => ms,
    }
}

/// The LRU clock, seconds.
pub fn clock_secs() -> u32 {
    (clock_ms() / 1000) as u32
}

fn minutes() -> u32 {
    ((clock_ms() / 60_000) & 0xffff) as u32
}

/// The stamp of a key just created.
pub fn fresh() -> u32 {
    if lfu() {
        (minutes() << 8) | LFU_INIT
    } else {
        clock_secs()
    }
}

/// The stamp after one more access.
pub fn touched(stamp: u32) -> u32 {
    if !lfu() {
        return clock_secs();
    }
    let mut counter = decayed(stamp);
    if counter < 255 {
        let base = counter.saturating_sub(LFU_INIT) as f64;
        let p = 1.0 / (base * f64::from(LOG_FACTOR.load(Ordering::Relaxed)) + 1.0);
        if rand::random::<f64>() < p {
            counter += 1;
        }
    }
    (minutes() << 8) | counter
}

/// Seconds since the last access (LRU stamps).
pub fn idle_secs(stamp: u32) -> u64 {
    u64::from(clock_secs().wrapping_sub(stamp))
}

/// The LFU counter with the decay since its last access applied (what OBJECT FREQ shows).
pub fn decayed(stamp: u32) -> u32 {
    let counter = stamp & 0xff;
    let last = stamp >> 8;
    let now = minutes();
    let elapsed = if now >= last {
        now - last
    } else {
        0x10000 - last + now
    };
    let decay = DECAY_MINUTES.load(Ordering::Relaxed);
    let periods = elapsed.checked_div(decay).unwrap_or(0);
    counter.saturating_sub(periods)
}

/// How good an eviction victim a key is: larger evicts first (idle seconds under LRU,
/// 255 - frequency under LFU).
pub fn badness(stamp: u32) -> u64 {
    if lfu() {
        u64::from(255 - decayed(stamp).min(255))
    } else {
        idle_secs(stamp)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lfu_counter_decays_one_per_period() {
        let now = minutes();
        let stamp = (now.wrapping_sub(3) & 0xffff) << 8 | 10;
        DECAY_MINUTES.store(1, Ordering::Relaxed);
        assert_eq!(decayed(stamp), 7);
        assert_eq!(decayed((now << 8) | 10), 10);
        // Wrapped minutes (the 16-bit field rolled over since).
        let old = ((now + 0x10000 - 2) & 0xffff) << 8 | 4;
        assert_eq!(decayed(old), 2);
    }
}
