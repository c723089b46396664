//! Apply of a post (`node::storage::apply::apply_entry`) over a real RocksDB in a temporary
//! directory: the overlay transaction alone, and with its `WriteBatch` written (unsynced, as
//! the state machine does; the log append is the synced write).

use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use node::storage::apply::apply_entry;
use node::storage::txn::Txn;
use node::storage::Store;
use proto::command::{Actor, Command, EntryMeta, LogEntry, Reply};
use proto::gs2::records::NamespaceSettings;

const NOW: i64 = 1_763_760_000_000;

fn entry(cmd: Command, dedup: Option<String>) -> LogEntry {
    LogEntry::new(EntryMeta { now_ms: NOW, dedup }, cmd)
}

fn apply_and_write(store: &Store, index: u64, e: &LogEntry) {
    let mut txn = Txn::new(store, 0);
    let reply = apply_entry(&mut txn, index, e).expect("apply");
    assert!(
        matches!(reply, Reply::Ok(_)),
        "setup entry rejected: {reply:?}"
    );
    store.db.write(txn.into_batch()).expect("write batch");
}

fn post(i: u64) -> LogEntry {
    entry(
        Command::Post {
            namespace: "bench".into(),
            room: format!("room-{}", i % 16),
            name: format!("{:08x}-0000-4000-8000-{:012x}", i as u32, i),
            actor: Actor::Backend(Some(format!("u{}", i % 256))),
            user_id: format!("u{}", i % 256),
            category: 0,
            metadata: Some("m".repeat(128)),
            checked_room_revision: None,
        },
        Some(format!("backend:{i}")),
    )
}

fn bench(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = Store::open(dir.path()).expect("open store");
    apply_and_write(
        &store,
        1,
        &entry(
            Command::CreateNamespace {
                name: "bench".into(),
                settings: NamespaceSettings {
                    allow_create_room: true,
                    ..Default::default()
                },
            },
            None,
        ),
    );
    for r in 0..16u64 {
        apply_and_write(
            &store,
            2 + r,
            &entry(
                Command::CreateRoom {
                    namespace: "bench".into(),
                    name: format!("room-{r}"),
                    actor: Actor::Backend(Some("owner".into())),
                    metadata: None,
                    password_hash: None,
                    white_list_user_ids: Vec::new(),
                },
                None,
            ),
        );
    }
    let mut index = 100u64;
    let mut g = c.benchmark_group("apply_post");
    g.throughput(Throughput::Elements(1));
    g.bench_function("txn_only", |b| {
        b.iter_batched(
            || {
                index += 1;
                post(index)
            },
            |e| {
                let mut txn = Txn::new(&store, 0);
                let reply = apply_entry(&mut txn, 1_000_000, &e).expect("apply");
                assert!(matches!(reply, Reply::Ok(_)));
                txn.into_batch()
            },
            BatchSize::SmallInput,
        )
    });
    g.bench_function("txn_and_write_batch", |b| {
        b.iter_batched(
            || {
                index += 1;
                (index, post(index))
            },
            |(i, e)| {
                let mut txn = Txn::new(&store, 0);
                apply_entry(&mut txn, i, &e).expect("apply");
                store.db.write(txn.into_batch()).expect("write");
            },
            BatchSize::SmallInput,
        )
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
