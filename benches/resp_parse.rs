//! `resp::parse_command`: the request parser every byte from a client goes through.
//!
//! - `set_pipeline_16`: one read buffer holding 16 pipelined `SET key:<12 digits> <64 B>`
//!   (what `redis-benchmark -P 16 -d 64` sends), parsed command by command until empty.
//!   Throughput is in elements (commands) and input bytes, so criterion reports commands/s
//!   and MB/s of request bytes.
//! - `get_single`: one `GET key:<12 digits>`.
//!
//! Each iteration starts from a fresh `BytesMut` copy of the input (the copy is in the timing,
//! as a socket read into the buffer would be).

use bytes::BytesMut;
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use std::hint::black_box;
use std::time::Duration;
use vaylix::resp::{parse_command, Limits};

fn resp_array(args: &[&[u8]]) -> Vec<u8> {
    let mut out = format!("*{}\r\n", args.len()).into_bytes();
    for a in args {
        out.extend_from_slice(format!("${}\r\n", a.len()).as_bytes());
        out.extend_from_slice(a);
        out.extend_from_slice(b"\r\n");
    }
    out
}

fn set_pipeline(n: usize, value_len: usize) -> Vec<u8> {
    let value = vec![b'x'; value_len];
    let mut buf = Vec::new();
    for i in 0..n {
        let key = format!("key:{i:012}");
        buf.extend_from_slice(&resp_array(&[b"SET", key.as_bytes(), &value]));
    }
    buf
}

fn parse_all(input: &[u8], limits: Limits) -> usize {
    let mut buf = BytesMut::from(input);
    let mut n = 0;
    while let Some(argv) = parse_command(&mut buf, limits).expect("valid input") {
        black_box(&argv);
        n += 1;
    }
    n
}

fn bench(c: &mut Criterion) {
    let limits = Limits::default();
    let mut g = c.benchmark_group("resp_parse");
    g.measurement_time(Duration::from_secs(3))
        .warm_up_time(Duration::from_secs(1))
        .sample_size(20);

    let pipeline = set_pipeline(16, 64);
    assert_eq!(parse_all(&pipeline, limits), 16);
    g.throughput(Throughput::ElementsAndBytes {
        elements: 16,
        bytes: pipeline.len() as u64,
    });
    g.bench_function("set_pipeline_16x64B", |b| {
        b.iter(|| parse_all(black_box(&pipeline), limits))
    });

    let get = resp_array(&[b"GET", b"key:000000000042"]);
    assert_eq!(parse_all(&get, limits), 1);
    g.throughput(Throughput::ElementsAndBytes {
        elements: 1,
        bytes: get.len() as u64,
    });
    g.bench_function("get_single", |b| {
        b.iter(|| parse_all(black_box(&get), limits))
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
