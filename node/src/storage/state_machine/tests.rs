//! Snapshots built, saved, installed and restored against a real RocksDB.

use super::*;

#[test]
fn concurrent_snapshot_saves_never_fail_and_never_go_back() {
    let dir = tempfile::tempdir().unwrap();
    let file = Arc::new(SnapshotFile {
        path: dir.path().join("snapshot-g0.bin"),
        saved: Mutex::new(None),
    });
    let snap = |index: u64| StoredSnapshot {
        meta: SnapshotMeta {
            last_log_id: Some(LogId::new(openraft::CommittedLeaderId::new(1, 1), index)),
            ..Default::default()
        },
        data: vec![0u8; 64 * 1024],
    };
    // A builder and an installer saving at the same time used to share one temporary
    // file: one renamed it away under the other (ENOENT, a fatal storage error).
    let threads: Vec<_> = [0u64, 1]
        .into_iter()
        .map(|parity| {
            let file = file.clone();
            std::thread::spawn(move || {
                for i in 0..50 {
                    file.save(&snap(i * 2 + parity)).unwrap();
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    file.save(&snap(3)).unwrap();
    let kept = file.load().unwrap().unwrap();
    assert_eq!(kept.meta.last_log_id.map(|l| l.index), Some(99));
}

#[test]
fn restore_keeps_this_groups_views_only() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let meta = build(&store, 0).unwrap().meta;
    let row = |c: &str, k: Vec<u8>| {
        (
            c.to_string(),
            ByteBuf::from(k),
            ByteBuf::from(b"v".to_vec()),
        )
    };
    #[derive(Serialize)]
    struct Body {
        format: u32,
        rows: Vec<(String, ByteBuf, ByteBuf)>,
    }
    let body = Body {
        format: SNAPSHOT_FORMAT,
        rows: vec![
            row(cf::NAMESPACES, keys::namespace(0, "mine")),
            row(cf::NAMESPACES, keys::namespace(1, "theirs")),
            row(cf::OUTBOX, keys::outbox(0, 1, 0)),
            row(cf::SM_META, keys::meta(0, LAST_APPLIED)),
        ],
    };
    let data = encode(&body);
    let bytes = encode(&StoredSnapshot { meta, data });
    let target = tempfile::tempdir().unwrap();
    let target = Store::open(target.path()).unwrap();
    assert_eq!(restore(&target, 0, &bytes).unwrap(), 1);
    let all = |c: &'static str| target.scan(c, &[], None, usize::MAX).unwrap();
    assert_eq!(all(cf::NAMESPACES).len(), 1);
    assert_eq!(all(cf::NAMESPACES)[0].0, keys::namespace(0, "mine"));
    assert!(all(cf::OUTBOX).is_empty() && all(cf::SM_META).is_empty());
}

#[test]
fn built_snapshots_decode_and_earlier_formats_still_do() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let mut batch = WriteBatch::default();
    for i in 0..300u32 {
        let key = keys::namespace(0, &format!("ns{i}"));
        batch.put_cf(&store.cf(cf::NAMESPACES), key, vec![0xff, (i % 256) as u8]);
    }
    // Another group's rows stay out of this group's snapshot.
    batch.put_cf(&store.cf(cf::NAMESPACES), keys::namespace(1, "other"), b"x");
    store.db.write(batch).unwrap();

    let snap = build(&store, 0).unwrap();
    assert!(
        snap.meta.snapshot_id.ends_with("-300"),
        "{}",
        snap.meta.snapshot_id
    );
    let body: SnapshotBody = decode("snapshot", &snap.data).unwrap();
    assert_eq!(body.format, SNAPSHOT_FORMAT);
    assert_eq!(body.rows.len(), 300);
    assert!(body
        .rows
        .iter()
        .all(|(c, _, v)| c == cf::NAMESPACES && v[0] == 0xff));
    let stored = decode::<StoredSnapshot>("snapshot", &encode(&snap)).unwrap();
    assert_eq!(stored.data, snap.data);

    // Before: bytes were msgpack arrays of integers.
    #[derive(Serialize)]
    struct OldBody {
        format: u32,
        rows: Vec<(String, Vec<u8>, Vec<u8>)>,
    }
    #[derive(Serialize)]
    struct OldStored {
        meta: SnapshotMeta<NodeId, Node>,
        data: Vec<u8>,
    }
    let old_body = encode(&OldBody {
        format: SNAPSHOT_FORMAT,
        rows: vec![("namespaces".into(), vec![0, 1, 200], vec![255, 7])],
    });
    let old = encode(&OldStored {
        meta: snap.meta.clone(),
        data: old_body.clone(),
    });
    let stored: StoredSnapshot = decode("snapshot", &old).unwrap();
    assert_eq!(stored.data, old_body);
    let body: SnapshotBody = decode("snapshot", &stored.data).unwrap();
    assert_eq!(body.rows[0].1.as_slice(), &[0, 1, 200]);
    assert_eq!(body.rows[0].2.as_slice(), &[255, 7]);
}
