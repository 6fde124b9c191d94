//! WAL frame sealing and opening, per group-commit batch of SET entries.
//!
//! - `encode/N`: `storage::wal::encode_wal_frames` of a batch of N entries, each one
//!   `Effect::Put` of `key:<12 digits>` with a 64-byte value: msgpack encoding (storage::codec), one
//!   XChaCha20-Poly1305 seal for the whole frame, and the header and body crc32c. This is the
//!   per-batch CPU work of the WAL writer thread before its `write` + `fdatasync`.
//! - `decode/N`: what recovery does with the same bytes: `FrameReader::next_raw` (length, both
//!   crcs), `open_frame` (authenticate + decrypt) and the msgpack decode of the entries.
//!
//! Throughput: elements = entries of the batch (so the per-entry cost is time / N), bytes =
//! the encoded frame (56-byte header + ciphertext + tag).

use bytes::Bytes;
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use std::hint::black_box;
use std::io::Cursor;
use std::time::Duration;
use vaylix::keyspace::{Effect, Value};
use vaylix::storage::keyring::Keyring;
use vaylix::storage::wal::{
    decode_entries, encode_wal_frames, open_frame, Entry, FrameReader, RawItem,
    FRAME_PLAINTEXT_CAP, WAL_FLAG_TIMED, WAL_MAGIC,
};

const SEGMENT_START: u64 = 1;

fn set_entries(n: usize) -> Vec<Entry> {
    (0..n)
        .map(|i| {
            (
                SEGMENT_START + i as u64,
                vec![Effect::Put {
                    db: 0,
                    key: Bytes::from(format!("key:{i:012}")),
                    value: Value::String(Bytes::from(vec![b'x'; 64])),
                    expires_at_ms: None,
                }],
            )
        })
        .collect()
}

/// Reads, verifies, decrypts and decodes every frame of `bytes`; returns the entry count.
fn decode_all(keys: &Keyring, bytes: &[u8]) -> usize {
    let mut r = FrameReader::new(Cursor::new(bytes), 0, bytes.len() as u64, "bench".into());
    let mut n = 0;
    loop {
        match r.next_raw().expect("valid frame") {
            RawItem::Frame {
                offset,
                header,
                body,
            } => {
                let plain = open_frame(
                    WAL_MAGIC,
                    SEGMENT_START,
                    keys,
                    "bench",
                    offset,
                    Some(header.a),
                    &header,
                    body,
                )
                .expect("authentic frame");
                // Timed frames start with the 8-byte commit time.
                let payload = match header.flags & WAL_FLAG_TIMED {
                    0 => &plain[..],
                    _ => &plain[8..],
                };
                let entries: Vec<Entry> = decode_entries(header.flags, payload).expect("decodable");
                n += black_box(entries).len();
            }
            RawItem::End => return n,
            RawItem::Torn { .. } => panic!("torn frame"),
        }
    }
}

fn bench(c: &mut Criterion) {
    let keys = Keyring::new(0);
    let (key_id, entry) = keys.active().expect("active key");
    let key = entry.key.clone();

    let mut g = c.benchmark_group("wal_frame");
    g.measurement_time(Duration::from_secs(3))
        .warm_up_time(Duration::from_secs(1))
        .sample_size(20);

    for n in [1usize, 16, 256] {
        let entries = set_entries(n);
        let mut frames = Vec::new();
        encode_wal_frames(
            SEGMENT_START,
            key_id,
            &key,
            &entries,
            FRAME_PLAINTEXT_CAP,
            Some(1_700_000_000_000),
            &mut frames,
        )
        .expect("encode");
        assert_eq!(decode_all(&keys, &frames), n);
        g.throughput(Throughput::ElementsAndBytes {
            elements: n as u64,
            bytes: frames.len() as u64,
        });

        let mut out = Vec::with_capacity(frames.len());
        g.bench_with_input(BenchmarkId::new("encode", n), &entries, |b, entries| {
            b.iter(|| {
                out.clear();
                encode_wal_frames(
                    SEGMENT_START,
                    key_id,
                    &key,
                    black_box(entries),
                    FRAME_PLAINTEXT_CAP,
                    Some(1_700_000_000_000),
                    &mut out,
                )
                .expect("encode");
                out.len()
            })
        });
        g.bench_with_input(BenchmarkId::new("decode", n), &frames, |b, frames| {
            b.iter(|| decode_all(&keys, black_box(frames)))
        });
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
