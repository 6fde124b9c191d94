//! Installing recovered data into the keyspace, 10,000 keys per iteration, each iteration on a
//! fresh empty `Keyspace` (16 databases, 256 shards).
//!
//! - `apply_entry_10k_puts`: `Keyspace::apply_entry` of 10,000 WAL entries, each one
//!   `Effect::Put` (`key:<12 digits>`, 64-byte value, no expiry): the WAL replay path
//!   (shard lock, version check, insert, expiry index, clock advance).
//! - `load_record_10k`: `Keyspace::load_record` of 10,000 snapshot records: the snapshot
//!   install path.
//!
//! Building the keyspace and cloning the records (by-value input of `load_record`) happen in
//! criterion's untimed setup, and the filled keyspace is dropped outside the timing.
//! Throughput: elements = keys.

use bytes::Bytes;
use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use std::time::Duration;
use vaylix::keyspace::{Effect, Keyspace, Record, Value};

const KEYS: usize = 10_000;
const DATABASES: usize = 16;

fn key(i: usize) -> Bytes {
    Bytes::from(format!("key:{i:012}"))
}

fn value() -> Value {
    Value::String(Bytes::from(vec![b'x'; 64]))
}

fn bench(c: &mut Criterion) {
    let entries: Vec<(u64, Vec<Effect>)> = (0..KEYS)
        .map(|i| {
            (
                i as u64 + 1,
                vec![Effect::Put {
                    db: 0,
                    key: key(i),
                    value: value(),
                    expires_at_ms: None,
                }],
            )
        })
        .collect();
    let records: Vec<Record> = (0..KEYS)
        .map(|i| Record {
            db: 0,
            key: key(i),
            value: value(),
            version: i as u64 + 1,
            expires_at_ms: None,
        })
        .collect();
    let now_ms = vaylix::commands::now_ms();

    // Both paths install every key.
    let ks = Keyspace::new(DATABASES);
    for (seq, effects) in &entries {
        ks.apply_entry(*seq, effects);
    }
    assert_eq!(ks.db_stats(0).0, KEYS);
    let ks = Keyspace::new(DATABASES);
    for r in records.iter().cloned() {
        ks.load_record(r, now_ms);
    }
    assert_eq!(ks.db_stats(0).0, KEYS);
    assert_eq!(ks.current_seq(), KEYS as u64);

    let mut g = c.benchmark_group("recovery_apply");
    g.measurement_time(Duration::from_secs(3))
        .warm_up_time(Duration::from_secs(1))
        .sample_size(20)
        .throughput(Throughput::Elements(KEYS as u64));
    g.bench_function("apply_entry_10k_puts", |b| {
        b.iter_batched(
            || Keyspace::new(DATABASES),
            |ks| {
                for (seq, effects) in &entries {
                    ks.apply_entry(*seq, effects);
                }
                ks
            },
            BatchSize::PerIteration,
        )
    });
    g.bench_function("load_record_10k", |b| {
        b.iter_batched(
            || (Keyspace::new(DATABASES), records.clone()),
            |(ks, recs)| {
                for r in recs {
                    ks.load_record(r, now_ms);
                }
                ks
            },
            BatchSize::PerIteration,
        )
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
