//! The latency monitor (`LATENCY LATEST|HISTORY|RESET|DOCTOR`, `latency-monitor-threshold`).
//!
//! As in Redis, each event class keeps its last 160 samples, at most one per second (the
//! worst of that second), and its all-time worst. vaylix's events are `command` and
//! `fast-command` (calls of commands without / with the `fast` flag that ran at least the
//! threshold) and `wal-fsync` (a WAL fdatasync that took at least the threshold).

use parking_lot::Mutex;
use std::collections::{BTreeMap, VecDeque};

/// Samples kept per event class.
const SAMPLES: usize = 160;

#[derive(Default)]
struct Series {
    /// (unix seconds, milliseconds), oldest first.
    samples: VecDeque<(u64, u64)>,
    max: u64,
}

#[derive(Default)]
pub struct LatencyMonitor {
    events: Mutex<BTreeMap<String, Series>>,
}

impl LatencyMonitor {
    /// Records `ms` for `event` at `unix_secs`.
    pub fn add(&self, event: &str, unix_secs: u64, ms: u64) {
        let mut events = self.events.lock();
        let s = events.entry(event.to_string()).or_default();
        s.max = s.max.max(ms);
        match s.samples.back_mut() {
            Some(last) if last.0 == unix_secs => last.1 = last.1.max(ms),
            _ => {
                if s.samples.len() == SAMPLES {
                    s.samples.pop_front();
                }
                s.samples.push_back((unix_secs, ms));
            }
        }
    }

    /// LATENCY LATEST: (event, time, latest ms, all-time max ms) for each event with samples.
    pub fn latest(&self) -> Vec<(String, u64, u64, u64)> {
        self.events
            .lock()
            .iter()
            .filter_map(|(name, s)| {
                s.samples
                    .back()
                    .map(|&(t, ms)| (name.clone(), t, ms, s.max))
            })
            .collect()
    }

    /// LATENCY HISTORY: the samples of `event`, oldest first.
    pub fn history(&self, event: &str) -> Vec<(u64, u64)> {
        self.events
            .lock()
            .get(event)
            .map(|s| s.samples.iter().copied().collect())
            .unwrap_or_default()
    }

    /// LATENCY RESET: forgets the named events (all for none); returns how many it forgot.
    pub fn reset(&self, names: &[String]) -> usize {
        let mut events = self.events.lock();
        if names.is_empty() {
            let n = events.len();
            events.clear();
            return n;
        }
        names.iter().filter(|n| events.remove(*n).is_some()).count()
    }

    /// LATENCY DOCTOR: a short report in vaylix's words.
    pub fn doctor(&self) -> String {
        let events = self.events.lock();
        if events.is_empty() {
            return "No latency spikes were recorded since the server started (or since the last \
                    LATENCY RESET), with latency-monitor-threshold set.\n"
                .to_string();
        }
        let mut out = String::from("Latency spikes recorded, per event class:\n\n");
        for (i, (name, s)) in events.iter().enumerate() {
            let n = s.samples.len() as u64;
            let avg = s.samples.iter().map(|x| x.1).sum::<u64>() / n.max(1);
            out.push_str(&format!(
                "{}. {name}: {n} spikes (average {avg}ms), worst {}ms.\n",
                i + 1,
                s.max
            ));
        }
        out.push_str(
            "\nSee SLOWLOG GET for the slow commands, and INFO persistence (wal_fsync_*) for the \
             disk behind slow WAL syncs.\n",
        );
        out
    }
}

#[cfg(test)]
mod tests {
    use super::LatencyMonitor;

    #[test]
    fn one_sample_per_second_the_worst_and_a_bounded_history() {
        let m = LatencyMonitor::default();
        m.add("command", 10, 5);
        m.add("command", 10, 9);
        m.add("command", 10, 7);
        m.add("command", 11, 3);
        assert_eq!(m.history("command"), vec![(10, 9), (11, 3)]);
        assert_eq!(m.latest(), vec![("command".to_string(), 11, 3, 9)]);
        for t in 0..500 {
            m.add("wal-fsync", 100 + t, 1);
        }
        assert_eq!(m.history("wal-fsync").len(), 160);
        assert_eq!(m.history("wal-fsync")[0].0, 100 + 500 - 160);
        assert_eq!(m.reset(&["nosuch".into(), "command".into()]), 1);
        assert_eq!(m.reset(&[]), 1);
        assert!(m.latest().is_empty());
    }
}
