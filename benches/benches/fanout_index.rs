//! The notification fan-out index (`node::gateway::sessions::Registry`): listing the users
//! with a session in a gateway namespace, and queueing a frame on one user's sessions, with
//! many sessions bound. `send_to_user` is async (it may wait briefly for a full queue); the
//! fast path completes at once, driven here by a current-thread tokio runtime.

use criterion::{black_box, criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use node::gateway::sessions::{ConnHandle, Registry};
use std::sync::Arc;

const FRAME: &str = r#"{"type":"notification","body":{"issuer":"Gs2Chat:Post","subject":"Gs2Chat:Post","payload":"{\"namespaceName\":\"bench\",\"roomName\":\"room-0\",\"userId\":\"e12345\",\"category\":0,\"createdAt\":1763760000000}"}}"#;

fn registry(sessions: usize) -> (Arc<Registry>, Vec<ConnHandle>) {
    let reg = Registry::new(1);
    let mut handles = Vec::with_capacity(sessions);
    for i in 0..sessions {
        let h = reg.open(1024);
        reg.bind(&h.id, "gw", &format!("user-{i}"), None, 0)
            .expect("bind");
        handles.push(h);
    }
    (reg, handles)
}

fn drain(handles: &mut [ConnHandle]) {
    for h in handles {
        while h.rx.try_recv().is_ok() {}
    }
}

fn bench(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let mut g = c.benchmark_group("fanout_index");
    for n in [1_000usize, 10_000] {
        let (reg, mut handles) = registry(n);
        g.throughput(Throughput::Elements(1));
        g.bench_with_input(BenchmarkId::new("users", n), &n, |b, _| {
            b.iter(|| black_box(reg.users(black_box("gw"))).len())
        });
        g.bench_with_input(BenchmarkId::new("has_user", n), &n, |b, _| {
            b.iter(|| reg.has_user(black_box("gw"), black_box("user-777")))
        });
        let mut k = 0usize;
        g.bench_with_input(BenchmarkId::new("send_to_user", n), &n, |b, _| {
            b.iter(|| {
                k = (k + 1) % n;
                let user = format!("user-{k}");
                let reached = rt.block_on(reg.send_to_user("gw", &user, FRAME)).len();
                if k.is_multiple_of(512) {
                    drain(&mut handles);
                }
                reached
            })
        });
        // One post to a room whose every subscriber is online here: one frame per session.
        g.throughput(Throughput::Elements(n as u64));
        g.bench_with_input(BenchmarkId::new("send_to_every_user", n), &n, |b, _| {
            let users = reg.users("gw");
            b.iter(|| {
                rt.block_on(async {
                    for u in &users {
                        reg.send_to_user("gw", u, FRAME).await;
                    }
                });
                drain(&mut handles);
            })
        });
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
