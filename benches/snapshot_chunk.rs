//! Snapshot write and read of 10,000 string records through the in-memory `SimFs` (no disk,
//! so no page-cache or fsync noise: this is the CPU cost of the format).
//!
//! - `write_10k`: `SnapshotWriter::create` + `add_record` x 10,000 (`key:<12 digits>`, 64-byte
//!   values, versions 1..=10,000), `flush_ready` after every 40 records as the server does after
//!   each shard, and `finish` (last chunk, trailer, SimFs "fsync", rename, directory sync).
//!   Covers msgpack encoding, XChaCha20-Poly1305 sealing, crc32c and the running SHA-256.
//! - `read_10k`: `read_snapshot` of that file, i.e. the recovery decode: header check, frame
//!   crcs, authentication + decryption, msgpack decode of the records, SHA-256 of the file and
//!   the trailer check. `SimFs::open_read` starts with one copy of the file (~1 MB memcpy).
//!
//! Throughput: elements = records, bytes = the snapshot file.

use bytes::Bytes;
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use std::hint::black_box;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;
use vaylix::keyspace::{Piece, Record, Value};
use vaylix::storage::crypto::{KeyId, SecretKey};
use vaylix::storage::fs::{FileSystem, SimFs};
use vaylix::storage::keyring::Keyring;
use vaylix::storage::snapshot::{read_snapshot, snapshot_file_name, SnapshotWriter};

const RECORDS: usize = 10_000;
const SEQ: u64 = RECORDS as u64;
/// Records per `flush_ready`: 10,000 keys spread over the server's 256 shards.
const PER_SHARD: usize = RECORDS / 256;

fn records() -> Vec<Piece> {
    (0..RECORDS)
        .map(|i| Record {
            db: 0,
            key: Bytes::from(format!("key:{i:012}")),
            value: Value::String(Bytes::from(vec![b'x'; 64])),
            version: i as u64 + 1,
            expires_at_ms: None,
        })
        .map(Piece::Record)
        .collect()
}

fn write(fs: &Arc<dyn FileSystem>, dir: &Path, key_id: KeyId, key: &SecretKey, recs: &[Piece]) {
    let mut w = SnapshotWriter::create(fs.clone(), dir, SEQ, key_id, key.clone()).expect("create");
    for shard in recs.chunks(PER_SHARD) {
        for r in shard {
            w.add_piece(r).expect("add");
        }
        w.flush_ready().expect("flush");
    }
    let info = w.finish(Some(SEQ)).expect("finish");
    assert_eq!(info.records, RECORDS as u64);
}

fn read(fs: &Arc<dyn FileSystem>, dir: &Path, keys: &Keyring) -> usize {
    let mut n = 0;
    read_snapshot(&**fs, dir, SEQ, keys, &mut |r| {
        black_box(r);
        n += 1;
    })
    .expect("read");
    n
}

fn bench(c: &mut Criterion) {
    let keys = Keyring::new(0);
    let (key_id, entry) = keys.active().expect("active key");
    let key = entry.key.clone();
    let fs: Arc<dyn FileSystem> = Arc::new(SimFs::new());
    let dir = Path::new("/data/snapshots");
    fs.create_dir_all(dir).expect("mkdir");
    let recs = records();

    write(&fs, dir, key_id, &key, &recs);
    assert_eq!(read(&fs, dir, &keys), RECORDS);
    let file_len = fs.len(&dir.join(snapshot_file_name(SEQ))).expect("len");

    let mut g = c.benchmark_group("snapshot_chunk");
    g.measurement_time(Duration::from_secs(3))
        .warm_up_time(Duration::from_secs(1))
        .sample_size(20)
        .throughput(Throughput::ElementsAndBytes {
            elements: RECORDS as u64,
            bytes: file_len,
        });
    g.bench_function("write_10k", |b| {
        b.iter(|| write(&fs, dir, key_id, &key, black_box(&recs)))
    });
    g.bench_function("read_10k", |b| b.iter(|| read(&fs, dir, &keys)));
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
