//! `server::dispatch`: one command from argv to encoded reply on an in-memory server
//! (no storage engine): command lookup, arity/auth checks, shard locking, the handler,
//! version stamping and effect recording, and RESP reply encoding.
//!
//! Keys are `key:<12 digits>` over 100,000 names (as `redis-benchmark -r 100000` generates),
//! visited in order, with 64-byte values. GET runs against a keyspace preloaded with all of
//! them, so every GET hits. No `EntrySink` is connected, so the effects a SET records are
//! dropped when its shard lock is released (the WAL hand-off is not measured here).

use bytes::Bytes;
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use std::hint::black_box;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use vaylix::config::Config;
use vaylix::keyspace::Keyspace;
use vaylix::resp::ReplyWriter;
use vaylix::server::{dispatch, ConnState, Shared};

const KEYS: usize = 100_000;

fn server() -> (Shared, ConnState) {
    let config = Arc::new(Config::default());
    let keyspace = Arc::new(Keyspace::new(config.get_i64("databases") as usize));
    let shared = Shared::new(config, keyspace, None);
    let addr: SocketAddr = "127.0.0.1:6379".parse().expect("address");
    let info = shared.clients.register(addr, addr);
    let conn = ConnState::new(info, true);
    (shared, conn)
}

fn argvs(cmd: &str, value: Option<&Bytes>) -> Vec<Vec<Bytes>> {
    (0..KEYS)
        .map(|i| {
            let mut argv = vec![
                Bytes::from(cmd.to_string()),
                Bytes::from(format!("key:{i:012}")),
            ];
            argv.extend(value.cloned());
            argv
        })
        .collect()
}

fn bench(c: &mut Criterion) {
    let (shared, mut conn) = server();
    let mut out = ReplyWriter::new();
    let value = Bytes::from(vec![b'x'; 64]);
    let sets = argvs("SET", Some(&value));
    let gets = argvs("GET", None);

    // Preload every key (also checks that SET and GET reply as expected).
    for argv in &sets {
        dispatch(&shared, &mut conn, &mut out, argv);
        assert_eq!(&out.buf[..], b"+OK\r\n");
        out.buf.clear();
    }
    dispatch(&shared, &mut conn, &mut out, &gets[7]);
    assert_eq!(
        &out.buf[..],
        &b"$64\r\nxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\r\n"[..]
    );
    out.buf.clear();

    let mut g = c.benchmark_group("dispatch");
    g.measurement_time(Duration::from_secs(3))
        .warm_up_time(Duration::from_secs(1))
        .sample_size(20)
        .throughput(Throughput::Elements(1));

    let mut i = 0usize;
    g.bench_function("set_64B", |b| {
        b.iter(|| {
            i = (i + 1) % KEYS;
            let after = dispatch(&shared, &mut conn, &mut out, black_box(&sets[i]));
            out.buf.clear();
            after
        })
    });
    let mut i = 0usize;
    g.bench_function("get_hit_64B", |b| {
        b.iter(|| {
            i = (i + 1) % KEYS;
            let after = dispatch(&shared, &mut conn, &mut out, black_box(&gets[i]));
            out.buf.clear();
            after
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
