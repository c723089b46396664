//! Key encoding (`node::storage::keys`): the keys one post writes, and reading a key back.

use criterion::{black_box, criterion_group, criterion_main, Criterion};
use node::storage::keys;

fn bench(c: &mut Criterion) {
    let mut g = c.benchmark_group("keys");
    let name = "5f0c6a3e-2b1d-4c8e-9f7a-0d3e4b5a6c7d";
    g.bench_function("message", |b| {
        b.iter(|| {
            keys::message(
                0,
                black_box("bench"),
                black_box("room-7"),
                black_box(1_763_760_000_000),
                black_box(name),
            )
        })
    });
    g.bench_function("post_all_keys", |b| {
        b.iter(|| {
            let ns = black_box("bench");
            let room = black_box("room-7");
            let at = black_box(1_763_760_000_000);
            (
                keys::log(0, black_box(123_456)),
                keys::message(0, ns, room, at, name),
                keys::message_name(0, ns, room, name),
                keys::message_by_user(0, "u42", ns, room, at, name),
                keys::outbox(0, 123_456, 0),
            )
        })
    });
    g.bench_function("sub_by_room", |b| {
        b.iter(|| keys::sub_by_room(0, black_box("bench"), black_box("room-7"), black_box("u42")))
    });
    let k = keys::message_by_user(0, "u42", "bench", "room-7", 1_763_760_000_000, name);
    g.bench_function("read_message_by_user", |b| {
        b.iter(|| keys::decode_message_by_user(black_box(&k)))
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
