//! `maxmemory`: before each command, while the bytes allocated ([`crate::alloc::used_memory`],
//! INFO `used_memory`) exceed the limit, keys are evicted by `maxmemory-policy`; a command
//! that may grow memory (`denyoom`) is refused with `-OOM` when nothing more can go.
//!
//! An eviction is a logged write: each victim is deleted through a [`crate::keyspace::Locked`]
//! of its shard alone, so its DEL is a WAL entry of its own, sequenced before the command
//! that caused it; that command's reply waits for it. Replay, PITR and backups therefore see
//! the same keyspace the clients saw, and recovery never evicts (it replays).
//!
//! Choosing victims follows Redis's approximation: each round samples `maxmemory-samples`
//! keys of one random shard into a pool of the [`POOL`] best candidates kept across rounds
//! (longest idle for LRU, least frequent for LFU, soonest expiry for volatile-ttl), then
//! evicts the pool's best that still exists. The random policies take a sampled key as is.
//! volatile-ttl reads each shard's expiry index, so its candidates are the exact soonest.
//!
//! A round is bounded by time (`maxmemory-eviction-tenacity`, Redis's formula); a command
//! that finds memory still over the limit after its budget, having evicted something, runs
//! (Redis's EVICT_RUNNING); the next command goes on evicting.

use super::connection::ConnState;
use super::Shared;
use crate::commands::notify;
use crate::keyspace::{DbIndex, SHARDS};
use bytes::Bytes;
use std::sync::atomic::{AtomicU64, AtomicU8, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// Candidates kept across rounds (Redis's EVPOOL_SIZE).
const POOL: usize = 16;

pub const OOM: &str = "OOM command not allowed when used memory > 'maxmemory'.";

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
#[repr(u8)]
pub enum Policy {
    NoEviction,
    AllKeysLru,
    VolatileLru,
    AllKeysLfu,
    VolatileLfu,
    AllKeysRandom,
    VolatileRandom,
    VolatileTtl,
}

impl Policy {
    fn parse(s: &str) -> Policy {
        match s {
            "allkeys-lru" => Policy::AllKeysLru,
            "volatile-lru" => Policy::VolatileLru,
            "allkeys-lfu" => Policy::AllKeysLfu,
            "volatile-lfu" => Policy::VolatileLfu,
            "allkeys-random" => Policy::AllKeysRandom,
            "volatile-random" => Policy::VolatileRandom,
            "volatile-ttl" => Policy::VolatileTtl,
            _ => Policy::NoEviction,
        }
    }

    fn from_u8(v: u8) -> Policy {
        [
            Policy::NoEviction,
            Policy::AllKeysLru,
            Policy::VolatileLru,
            Policy::AllKeysLfu,
            Policy::VolatileLfu,
            Policy::AllKeysRandom,
            Policy::VolatileRandom,
            Policy::VolatileTtl,
        ]
        .get(v as usize)
        .copied()
        .unwrap_or(Policy::NoEviction)
    }

    fn volatile(self) -> bool {
        matches!(
            self,
            Policy::VolatileLru
                | Policy::VolatileLfu
                | Policy::VolatileRandom
                | Policy::VolatileTtl
        )
    }

    fn random(self) -> bool {
        matches!(self, Policy::AllKeysRandom | Policy::VolatileRandom)
    }
}

struct Candidate {
    /// Larger goes first.
    score: u64,
    shard: usize,
    db: DbIndex,
    key: Bytes,
}

/// The eviction settings (read from the configuration when it changes, not per command),
/// the candidate pool and the `evicted_keys` count.
pub struct Evictor {
    generation: AtomicU64,
    max: AtomicU64,
    policy: AtomicU8,
    samples: AtomicUsize,
    budget_us: AtomicU64,
    pool: parking_lot::Mutex<Vec<Candidate>>,
    pub evicted: AtomicU64,
}

impl Default for Evictor {
    fn default() -> Self {
        Evictor {
            generation: AtomicU64::new(u64::MAX),
            max: AtomicU64::new(0),
            policy: AtomicU8::new(0),
            samples: AtomicUsize::new(5),
            budget_us: AtomicU64::new(500),
            pool: parking_lot::Mutex::new(Vec::new()),
            evicted: AtomicU64::new(0),
        }
    }
}

/// Redis's evictionTimeLimitUs: 50 µs per step up to 10, then 15 % more per step; 100 is
/// unlimited.
fn budget_us(tenacity: i64) -> u64 {
    match tenacity {
        t if t <= 10 => 50 * t.max(0) as u64,
        t if t < 100 => (500.0 * 1.15f64.powi(t as i32 - 10)) as u64,
        _ => u64::MAX,
    }
}

impl Evictor {
    /// Re-reads the settings if the configuration changed since (one atomic load if not).
    pub fn refresh(&self, shared: &Shared) {
        let generation = shared.config.generation();
        if self.generation.load(Ordering::Acquire) == generation {
            return;
        }
        let c = &shared.config;
        let policy = c.get_str("maxmemory-policy");
        crate::keyspace::access::set_policy(
            &policy,
            c.get_i64("lfu-log-factor"),
            c.get_i64("lfu-decay-time"),
        );
        let old = Policy::from_u8(self.policy.load(Ordering::Relaxed));
        let new = Policy::parse(&policy);
        if old != new {
            // Scores of one policy mean nothing to another.
            self.pool.lock().clear();
        }
        self.policy.store(new as u8, Ordering::Relaxed);
        self.max
            .store(c.get_i64("maxmemory").max(0) as u64, Ordering::Relaxed);
        // Redis accepts any positive count; more than 64 per round buys nothing.
        self.samples.store(
            c.get_i64("maxmemory-samples").clamp(1, 64) as usize,
            Ordering::Relaxed,
        );
        self.budget_us.store(
            budget_us(c.get_i64("maxmemory-eviction-tenacity")),
            Ordering::Relaxed,
        );
        self.generation.store(generation, Ordering::Release);
    }

    pub fn maxmemory(&self) -> u64 {
        self.max.load(Ordering::Relaxed)
    }

    pub fn policy(&self) -> Policy {
        Policy::from_u8(self.policy.load(Ordering::Relaxed))
    }

    /// One victim, or None if no key qualifies.
    fn pick(&self, shared: &Shared, now_ms: u64) -> Option<Candidate> {
        let policy = self.policy();
        let ks = &shared.keyspace;
        let n = self.samples.load(Ordering::Relaxed);
        // Every shard once, from a random one on, before concluding there is nothing (keys
        // spread over the shards by hash, so consecutive shards are as good a sample as any).
        let first = rand::random::<u64>() as usize;
        for off in 0..SHARDS {
            let shard = (first + off) % SHARDS;
            let sampled = ks.sample(
                shard,
                n,
                policy.volatile(),
                policy == Policy::VolatileTtl,
                now_ms,
            );
            if policy.random() {
                if let Some((db, key, _, _)) = sampled.into_iter().next() {
                    return Some(Candidate {
                        score: 0,
                        shard,
                        db,
                        key,
                    });
                }
                continue;
            }
            let mut pool = self.pool.lock();
            for (db, key, stamp, expires) in sampled {
                let score = match policy {
                    Policy::VolatileTtl => u64::MAX - expires,
                    _ => crate::keyspace::access::badness(stamp),
                };
                if pool.iter().any(|c| c.db == db && c.key == key) {
                    continue;
                }
                if pool.len() == POOL {
                    match pool.last() {
                        Some(worst) if worst.score < score => {
                            pool.pop();
                        }
                        _ => continue,
                    }
                }
                let at = pool.partition_point(|c| c.score >= score);
                pool.insert(
                    at,
                    Candidate {
                        score,
                        shard,
                        db,
                        key,
                    },
                );
            }
            if !pool.is_empty() {
                return Some(pool.remove(0));
            }
        }
        None
    }

    /// Evicts while memory is over `maxmemory`. False: still over it with nothing left to
    /// evict, or the policy is noeviction (the caller refuses `denyoom` commands).
    pub fn make_room(&self, shared: &Shared, conn: &mut ConnState) -> bool {
        self.refresh(shared);
        let max = self.maxmemory();
        if max == 0 || crate::alloc::used_memory() <= max {
            return true;
        }
        if self.policy() == Policy::NoEviction {
            return false;
        }
        let started = Instant::now();
        let budget = Duration::from_micros(self.budget_us.load(Ordering::Relaxed));
        let mut evicted = 0u64;
        let ks = &shared.keyspace;
        let volatile = self.policy().volatile();
        while crate::alloc::used_memory() > max {
            let now_ms = crate::commands::now_ms();
            let Some(victim) = self.pick(shared, now_ms) else {
                return false;
            };
            let mut locked = ks.lock(vec![victim.shard]);
            let live = locked
                .get_untouched(victim.db, &victim.key, now_ms)
                .is_some_and(|e| !volatile || e.expires_at_ms() != 0);
            let gone = live && locked.del(victim.db, &victim.key, now_ms).is_some();
            let seq = locked.observed();
            drop(locked);
            if gone {
                evicted += 1;
                conn.observe(seq);
                self.evicted.fetch_add(1, Ordering::Relaxed);
                notify::notify(
                    shared,
                    notify::EVICTED,
                    "evicted",
                    victim.db,
                    &victim.key,
                    seq,
                );
                if shared.pubsub.tracking.count() > 0 {
                    shared
                        .pubsub
                        .tracking
                        .invalidate(&shared.pubsub, std::slice::from_ref(&victim.key));
                }
            }
            // As Redis: the clock is read every 16 evictions, so a few keys always go.
            if evicted.is_multiple_of(16) && evicted > 0 && started.elapsed() >= budget {
                break;
            }
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tenacity_budget_follows_redis() {
        assert_eq!(budget_us(0), 0);
        assert_eq!(budget_us(10), 500);
        assert_eq!(budget_us(11), 575);
        assert_eq!(budget_us(100), u64::MAX);
    }
}
