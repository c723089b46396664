//! Raft log entry encode/decode (`proto::command::LogEntry`, msgpack with field names): the
//! cost paid per post when it is appended to the log, replicated and applied.

use criterion::{black_box, criterion_group, criterion_main, Criterion, Throughput};
use proto::command::{Actor, Command, EntryMeta, LogEntry};

fn post_entry(metadata_len: usize) -> LogEntry {
    LogEntry::new(
        EntryMeta {
            now_ms: 1_763_760_000_000,
            dedup: Some("backend:0b0c3f1e-7d4a-4f43-9a53-1f0e8a7c2b11".into()),
        },
        Command::Post {
            namespace: "bench".into(),
            room: "room-7".into(),
            name: "5f0c6a3e-2b1d-4c8e-9f7a-0d3e4b5a6c7d".into(),
            actor: Actor::Backend(Some("u42".into())),
            user_id: "u42".into(),
            category: 0,
            metadata: Some("m".repeat(metadata_len)),
            checked_room_revision: None,
        },
    )
}

fn bench(c: &mut Criterion) {
    let mut g = c.benchmark_group("log_entry");
    for len in [128usize, 1024] {
        let entry = post_entry(len);
        let bytes = entry.encode();
        g.throughput(Throughput::Elements(1));
        g.bench_function(format!("encode_post_{len}B"), |b| {
            b.iter(|| black_box(black_box(&entry).encode()))
        });
        g.bench_function(format!("decode_post_{len}B"), |b| {
            b.iter(|| black_box(LogEntry::decode(black_box(&bytes)).expect("decodes")))
        });
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
