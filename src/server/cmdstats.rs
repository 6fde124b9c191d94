//! What INFO `commandstats`, `errorstats` and `latencystats` report, and the SLOWLOG.
//!
//! Every executed call (a single command, each command inside EXEC, each `redis.call` of a
//! script) is recorded once, after it ran: its calls, time, whether it failed (it replied with
//! an error) and its latency histogram; a command refused before it ran (arity, NOAUTH, OOM ...)
//! counts as `rejected_calls` instead, as in Redis 7.0. Container commands keep a slot per known
//! subcommand (`cmdstat_client|id`). The counters are atomics in a fixed table, so recording
//! takes no lock; the error table and the slow log lock only on their (rare) paths.
//!
//! The latency histogram follows HdrHistogram's layout with two significant digits (buckets of
//! 128 sub-buckets, each bucket twice as wide as the one before), as Redis's does, so the
//! percentiles INFO prints have Redis's resolution: a percentile is the highest value of the
//! sub-bucket it falls in. vaylix records nanoseconds where Redis records whole microseconds.

use crate::commands::{self, CommandSpec, SUBCOMMANDS};
use crate::config::Config;
use bytes::Bytes;
use parking_lot::Mutex;
use std::collections::{BTreeMap, VecDeque};
use std::fmt::Write;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering};
use std::sync::OnceLock;

/// Redis's bounds on what one histogram records: 1 ns to 1 s.
const HIST_MAX: u64 = 1_000_000_000;
/// Sub-buckets per bucket half (two significant digits: 2^7).
const HALF_MAG: u32 = 7;
const HALF: u64 = 1 << HALF_MAG;
/// Buckets needed to reach `HIST_MAX` (1e9 < 256 << 22).
const BUCKETS: usize = 23;
const SLOTS: usize = (BUCKETS + 1) << HALF_MAG;

/// A latency histogram (nanoseconds) written with relaxed atomics.
struct Histogram {
    counts: Box<[AtomicU64]>,
}

impl Histogram {
    fn new() -> Self {
        Histogram {
            counts: (0..SLOTS).map(|_| AtomicU64::new(0)).collect(),
        }
    }

    fn index(v: u64) -> usize {
        let v = v.clamp(1, HIST_MAX);
        let bucket = (64 - (v | (2 * HALF - 1)).leading_zeros()) - (HALF_MAG + 1);
        let sub = v >> bucket;
        (((bucket as u64 + 1) << HALF_MAG) + sub - HALF) as usize
    }

    /// The highest value that falls in slot `i`.
    fn highest(i: usize) -> u64 {
        let (bucket, sub) = match (i >> HALF_MAG) as i64 - 1 {
            b if b < 0 => (0, i as u64),
            b => (b as u32, (i as u64 & (HALF - 1)) + HALF),
        };
        (sub << bucket) + (1u64 << bucket) - 1
    }

    fn record(&self, v: u64) {
        self.counts[Self::index(v)].fetch_add(1, Ordering::Relaxed);
    }

    fn snapshot(&self) -> Vec<u64> {
        self.counts
            .iter()
            .map(|c| c.load(Ordering::Relaxed))
            .collect()
    }

    /// Values at the given percentiles (0..=100), as HdrHistogram's `value_at_percentile`.
    fn percentiles(&self, ps: &[f64]) -> Vec<u64> {
        let counts = self.snapshot();
        let total: u64 = counts.iter().sum();
        ps.iter()
            .map(|p| {
                let want = ((p / 100.0 * total as f64 + 0.5) as u64).max(1);
                let mut seen = 0;
                for (i, &n) in counts.iter().enumerate() {
                    seen += n;
                    if n > 0 && seen >= want {
                        return Self::highest(i);
                    }
                }
                0
            })
            .collect()
    }

    /// Cumulative counts at 1024 ns × 2^k (each level reported as the microseconds of the
    /// highest value of its slot, as Redis's log iteration does), the levels where the count
    /// grew.
    fn cdf(&self) -> Vec<(u64, u64)> {
        let counts = self.snapshot();
        let total: u64 = counts.iter().sum();
        let mut out = Vec::new();
        let (mut seen, mut i, mut prev) = (0u64, 0usize, 0u64);
        let mut level = 1024u64;
        while seen < total {
            let top = Self::highest(Self::index(level));
            while i < counts.len() && Self::highest(i) <= top {
                seen += counts[i];
                i += 1;
            }
            if seen > prev {
                out.push((top / 1000, seen));
            }
            prev = seen;
            level = level.saturating_mul(2);
            if level > HIST_MAX * 2 {
                break;
            }
        }
        out
    }

    fn is_empty(&self) -> bool {
        self.counts.iter().all(|c| c.load(Ordering::Relaxed) == 0)
    }

    fn reset(&self) {
        for c in self.counts.iter() {
            c.store(0, Ordering::Relaxed);
        }
    }
}

/// One command's (or subcommand's) counters, on its own cache line.
#[repr(align(64))]
#[derive(Default)]
struct Slot {
    calls: AtomicU64,
    nanos: AtomicU64,
    rejected: AtomicU64,
    failed: AtomicU64,
    hist: OnceLock<Histogram>,
}

/// LATENCY HISTOGRAM's line for one command: name, calls, (microseconds, calls up to them).
pub type CommandHistogram = (String, u64, Vec<(u64, u64)>);

/// One SLOWLOG entry.
pub struct SlowEntry {
    pub id: u64,
    pub unix_secs: u64,
    pub micros: u64,
    pub argv: Vec<Bytes>,
    pub addr: String,
    pub name: Bytes,
}

/// The configuration these read on every call, refreshed when `CONFIG SET` changed something.
struct Settings {
    generation: AtomicU64,
    slower_than: AtomicI64,
    max_len: AtomicU64,
    tracking: AtomicBool,
    /// `latency-monitor-threshold`, ms (0: off).
    spike_ms: AtomicU64,
}

/// Redis's bound on distinct error codes kept by errorstats.
const MAX_ERROR_CODES: usize = 128;
/// SLOWLOG keeps at most this many arguments and this many bytes of each.
const SLOW_MAX_ARGC: usize = 32;
const SLOW_MAX_STRING: usize = 128;

/// A container's subcommand names and the slot of the first.
type Subcommands = (&'static [&'static str], usize);

pub struct CommandStats {
    /// One slot per command of `commands::all()`, then one per known subcommand.
    slots: Box<[Slot]>,
    /// By command index: a container's subcommands (in `SUBCOMMANDS` order) and their first
    /// slot.
    subs: Box<[Option<Subcommands>]>,
    errors: Mutex<BTreeMap<String, u64>>,
    total_errors: AtomicU64,
    slowlog: Mutex<VecDeque<SlowEntry>>,
    slow_next_id: AtomicU64,
    settings: Settings,
}

impl Default for CommandStats {
    fn default() -> Self {
        let all = commands::all();
        let mut n = all.len();
        let mut subs = vec![None; all.len()];
        for (name, list) in SUBCOMMANDS {
            if list.is_empty() {
                continue;
            }
            if let Some(i) = all.iter().position(|s| s.name == *name) {
                subs[i] = Some((*list, n));
                n += list.len();
            }
        }
        CommandStats {
            slots: (0..n).map(|_| Slot::default()).collect(),
            subs: subs.into_boxed_slice(),
            errors: Mutex::new(BTreeMap::new()),
            total_errors: AtomicU64::new(0),
            slowlog: Mutex::new(VecDeque::new()),
            slow_next_id: AtomicU64::new(0),
            settings: Settings {
                generation: AtomicU64::new(u64::MAX),
                slower_than: AtomicI64::new(10_000),
                max_len: AtomicU64::new(128),
                tracking: AtomicBool::new(true),
                spike_ms: AtomicU64::new(0),
            },
        }
    }
}

impl CommandStats {
    /// The slot of a call: its subcommand's for a known subcommand of a container, else the
    /// command's.
    pub fn slot_of(&self, index: usize, argv: &[Bytes]) -> usize {
        if let Some(&Some((list, first))) = self.subs.get(index) {
            if let Some(sub) = argv.get(1) {
                if let Some(j) = list
                    .iter()
                    .position(|s| sub.eq_ignore_ascii_case(s.as_bytes()))
                {
                    return first + j;
                }
            }
        }
        index
    }

    fn refresh(&self, config: &Config) {
        let s = &self.settings;
        let generation = config.generation();
        if s.generation.load(Ordering::Acquire) == generation {
            return;
        }
        s.slower_than
            .store(config.get_i64("slowlog-log-slower-than"), Ordering::Relaxed);
        s.max_len.store(
            config.get_i64("slowlog-max-len").max(0) as u64,
            Ordering::Relaxed,
        );
        s.tracking
            .store(config.get_bool("latency-tracking"), Ordering::Relaxed);
        s.spike_ms.store(
            config.get_i64("latency-monitor-threshold").max(0) as u64,
            Ordering::Relaxed,
        );
        s.generation.store(generation, Ordering::Release);
    }

    /// Counts the error replies a call (or a refusal) wrote (their codes, see
    /// [`crate::resp::error_code`]; an empty one was counted already); returns whether there
    /// were any.
    pub fn count_errors(&self, codes: &mut Vec<String>) -> bool {
        if codes.is_empty() {
            return false;
        }
        let counted = codes.iter().filter(|c| !c.is_empty()).count();
        if counted == 0 {
            codes.clear();
            return true;
        }
        self.total_errors
            .fetch_add(counted as u64, Ordering::Relaxed);
        let mut table = self.errors.lock();
        for code in codes.drain(..).filter(|c| !c.is_empty()) {
            if let Some(n) = table.get_mut(&code) {
                *n += 1;
            } else if table.len() < MAX_ERROR_CODES {
                table.insert(code, 1);
            }
        }
        true
    }

    /// A call of `spec` refused before it ran.
    pub fn rejected(&self, slot: usize, codes: &mut Vec<String>) {
        if self.count_errors(codes) {
            self.slots[slot].rejected.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// A call that ran for `nanos`; `codes` are the errors it replied with. Returns whether it
    /// belongs in the slow log (the caller then builds the entry with [`Self::log_slow`]).
    pub fn executed(
        &self,
        config: &Config,
        slot: usize,
        nanos: u64,
        codes: &mut Vec<String>,
        spec: &CommandSpec,
    ) -> bool {
        self.refresh(config);
        let s = &self.slots[slot];
        s.calls.fetch_add(1, Ordering::Relaxed);
        s.nanos.fetch_add(nanos, Ordering::Relaxed);
        if self.count_errors(codes) {
            s.failed.fetch_add(1, Ordering::Relaxed);
        }
        if self.settings.tracking.load(Ordering::Relaxed) {
            s.hist.get_or_init(Histogram::new).record(nanos);
        }
        self.slow_enough(nanos, spec)
    }

    /// The milliseconds of a call that ran `nanos`, if the latency monitor records it.
    pub fn latency_spike(&self, nanos: u64) -> Option<u64> {
        let limit = self.settings.spike_ms.load(Ordering::Relaxed);
        let ms = nanos / 1_000_000;
        (limit > 0 && ms >= limit).then_some(ms)
    }

    /// Whether a call that ran `nanos` belongs in the slow log.
    pub fn slow_enough(&self, nanos: u64, spec: &CommandSpec) -> bool {
        let limit = self.settings.slower_than.load(Ordering::Relaxed);
        limit >= 0 && nanos / 1000 >= limit as u64 && !spec.has_flag("skip_slowlog")
    }

    /// Adds a slow log entry (arguments trimmed as Redis trims them).
    pub fn log_slow(
        &self,
        spec: &CommandSpec,
        argv: &[Bytes],
        micros: u64,
        addr: String,
        name: Bytes,
    ) {
        let max = self.settings.max_len.load(Ordering::Relaxed) as usize;
        let keep = argv.len().min(SLOW_MAX_ARGC);
        let mut args: Vec<Bytes> = Vec::with_capacity(keep);
        for (i, a) in argv.iter().take(keep).enumerate() {
            if i == SLOW_MAX_ARGC - 1 && argv.len() > SLOW_MAX_ARGC {
                let more = argv.len() - SLOW_MAX_ARGC + 1;
                args.push(Bytes::from(format!("... ({more} more arguments)")));
            } else if commands::pubsub::redacted_at(spec, argv, i) {
                args.push(Bytes::from_static(b"(redacted)"));
            } else if a.len() > SLOW_MAX_STRING {
                let mut b = a[..SLOW_MAX_STRING].to_vec();
                let more = format!("... ({} more bytes)", a.len() - SLOW_MAX_STRING);
                b.extend_from_slice(more.as_bytes());
                args.push(Bytes::from(b));
            } else {
                args.push(a.clone());
            }
        }
        let entry = SlowEntry {
            id: self.slow_next_id.fetch_add(1, Ordering::Relaxed),
            unix_secs: commands::now_ms() / 1000,
            micros,
            argv: args,
            addr,
            name,
        };
        let mut log = self.slowlog.lock();
        log.push_front(entry);
        log.truncate(max);
    }

    /// SLOWLOG GET: the newest `n` entries (all for `None`), newest first.
    pub fn slow_entries<R>(&self, n: Option<usize>, f: impl FnOnce(&[&SlowEntry]) -> R) -> R {
        let log = self.slowlog.lock();
        let v: Vec<&SlowEntry> = log.iter().take(n.unwrap_or(usize::MAX)).collect();
        f(&v)
    }

    pub fn slow_len(&self) -> usize {
        self.slowlog.lock().len()
    }

    pub fn slow_reset(&self) {
        self.slowlog.lock().clear();
    }

    pub fn total_errors(&self) -> u64 {
        self.total_errors.load(Ordering::Relaxed)
    }

    /// CONFIG RESETSTAT.
    pub fn reset(&self) {
        for s in self.slots.iter() {
            s.calls.store(0, Ordering::Relaxed);
            s.nanos.store(0, Ordering::Relaxed);
            s.rejected.store(0, Ordering::Relaxed);
            s.failed.store(0, Ordering::Relaxed);
            if let Some(h) = s.hist.get() {
                h.reset();
            }
        }
        self.errors.lock().clear();
        self.total_errors.store(0, Ordering::Relaxed);
    }

    /// LATENCY HISTOGRAM: for each command named (every command called, for none), its calls
    /// and its cumulative distribution at Redis's power-of-two microsecond levels.
    pub fn histograms(&self, names: &[String]) -> Vec<CommandHistogram> {
        self.named()
            .into_iter()
            .filter(|(n, _)| names.is_empty() || names.iter().any(|w| w.eq_ignore_ascii_case(n)))
            .filter_map(|(name, i)| {
                let s = &self.slots[i];
                let h = s.hist.get()?;
                let calls = s.calls.load(Ordering::Relaxed);
                (calls > 0 && !h.is_empty()).then(|| (name, calls, h.cdf()))
            })
            .collect()
    }

    /// Slot names with their slot index, in name order.
    fn named(&self) -> Vec<(String, usize)> {
        let all = commands::all();
        let mut v: Vec<(String, usize)> = all
            .iter()
            .enumerate()
            .map(|(i, s)| (s.name.to_string(), i))
            .collect();
        for (i, entry) in self.subs.iter().enumerate() {
            let Some((list, first)) = *entry else {
                continue;
            };
            for (j, sub) in list.iter().enumerate() {
                v.push((format!("{}|{}", all[i].name, sub), first + j));
            }
        }
        v.sort();
        v
    }

    /// INFO commandstats: every command called or rejected since the last reset.
    pub fn info_commandstats(&self, out: &mut String) {
        out.push_str("# Commandstats\r\n");
        for (name, i) in self.named() {
            let s = &self.slots[i];
            let calls = s.calls.load(Ordering::Relaxed);
            let rejected = s.rejected.load(Ordering::Relaxed);
            let failed = s.failed.load(Ordering::Relaxed);
            if calls == 0 && rejected == 0 && failed == 0 {
                continue;
            }
            let usec = s.nanos.load(Ordering::Relaxed) / 1000;
            let per = if calls == 0 {
                0.0
            } else {
                usec as f64 / calls as f64
            };
            let _ = write!(
                out,
                "cmdstat_{name}:calls={calls},usec={usec},usec_per_call={per:.2},rejected_calls={rejected},failed_calls={failed}\r\n"
            );
        }
    }

    pub fn info_errorstats(&self, out: &mut String) {
        out.push_str("# Errorstats\r\n");
        for (code, n) in self.errors.lock().iter() {
            let _ = write!(out, "errorstat_{code}:count={n}\r\n");
        }
    }

    /// INFO latencystats at `latency-tracking-info-percentiles`.
    pub fn info_latencystats(&self, config: &Config, out: &mut String) {
        out.push_str("# Latencystats\r\n");
        if !config.get_bool("latency-tracking") {
            return;
        }
        let ps: Vec<f64> = config
            .get_str("latency-tracking-info-percentiles")
            .split_whitespace()
            .filter_map(|p| p.parse().ok())
            .collect();
        for (name, i) in self.named() {
            let s = &self.slots[i];
            let Some(h) = s.hist.get() else { continue };
            if h.is_empty() {
                continue;
            }
            let _ = write!(out, "latency_percentiles_usec_{name}:");
            for (k, (p, v)) in ps.iter().zip(h.percentiles(&ps)).enumerate() {
                let sep = if k == 0 { "" } else { "," };
                let p = crate::config::format_percentile(*p);
                let _ = write!(out, "{sep}p{p}={:.3}", v as f64 / 1000.0);
            }
            out.push_str("\r\n");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Histogram;
    use crate::resp::error_code;

    #[test]
    fn histogram_slots_cover_values_at_two_significant_digits() {
        for v in [
            1u64,
            2,
            127,
            128,
            255,
            256,
            257,
            1000,
            1003,
            1004,
            65_535,
            999_999_999,
        ] {
            let i = Histogram::index(v);
            let hi = Histogram::highest(i);
            assert!(hi >= v, "{v}: highest {hi}");
            // Two significant digits: the slot is at most 1/128 of the value wide.
            assert!(hi - v <= v / 128 + 1, "{v}: highest {hi}");
            if i > 0 {
                assert!(Histogram::highest(i - 1) < v, "{v}");
            }
        }
        // Redis's `p50=1.003` for a 1 us call: 1000 ns shares a 4 ns wide slot ending at 1003.
        assert_eq!(Histogram::highest(Histogram::index(1000)), 1003);
        assert_eq!(Histogram::index(u64::MAX), Histogram::index(1_000_000_000));
    }

    #[test]
    fn percentiles_as_hdrhistogram() {
        let h = Histogram::new();
        for _ in 0..99 {
            h.record(1000);
        }
        h.record(50_000);
        assert_eq!(
            h.percentiles(&[50.0, 99.0, 100.0]),
            vec![1003, 1003, 50_175]
        );
        assert_eq!(Histogram::new().percentiles(&[50.0]), vec![0]);
    }

    #[test]
    fn error_codes_as_redis() {
        assert_eq!(error_code("ERR unknown command"), "ERR");
        assert_eq!(error_code("WRONGTYPE Operation"), "WRONGTYPE");
        assert_eq!(error_code("NOSPACE"), "ERR");
        assert_eq!(error_code(&format!("{} x", "A".repeat(40))), "ERR");
    }
}
