//! The openraft state machine over the view column families: applies batches atomically
//! (all writes plus `last_applied` and membership in one `WriteBatch`) and builds and
//! installs snapshots.
//!
//! A snapshot is every key of the state column families of this Raft group, read through one
//! RocksDB snapshot (a consistent point-in-time view including `last_applied`), encoded as
//! msgpack and kept in `snapshot.bin` beside the database. openraft streams it to followers
//! in chunks (`InstallSnapshot` RPCs of `snapshot_max_chunk_size` bytes).

use std::io::Cursor;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use openraft::storage::{RaftStateMachine, Snapshot};
use openraft::{
    AnyError, Entry, EntryPayload, LogId, RaftSnapshotBuilder, SnapshotMeta, StorageError,
    StorageIOError, StoredMembership,
};
use proto::command::{Outcome, Reply};
use rocksdb::{IteratorMode, WriteBatch};
use serde::{Deserialize, Serialize};
use serde_bytes::ByteBuf;

use super::apply::apply_entry;
use super::cf;
use super::db::{decode, encode, Store};
use super::fault::ApplyFault;
use super::keys::{self, prefix_end, GroupId};
use super::txn::Txn;
use crate::raft_types::{Node, NodeId, TypeConfig};

const LAST_APPLIED: &str = "last_applied";
const MEMBERSHIP: &str = "membership";
const SNAPSHOT_FORMAT: u32 = 1;

type SResult<T> = Result<T, StorageError<NodeId>>;

fn sm_err<E: std::error::Error + 'static>(e: E) -> StorageError<NodeId> {
    StorageIOError::write_state_machine(AnyError::new(&e)).into()
}

fn snap_err<E: std::error::Error + 'static>(e: E) -> StorageError<NodeId> {
    StorageIOError::read_snapshot(None, AnyError::new(&e)).into()
}

/// The snapshot payload, as decoded. [`build`] writes the same msgpack document directly
/// (keys and values as binary strings); snapshots of earlier versions, which stored bytes as
/// arrays of integers, decode too.
#[derive(Deserialize)]
pub struct SnapshotBody {
    pub format: u32,
    pub rows: Vec<(String, ByteBuf, ByteBuf)>,
}

/// `snapshot-g<group>.bin` and backups: the snapshot's meta and its payload.
#[derive(Serialize, Deserialize)]
pub struct StoredSnapshot {
    pub meta: SnapshotMeta<NodeId, Node>,
    #[serde(with = "serde_bytes")]
    pub data: Vec<u8>,
}

pub struct StateMachine {
    store: Store,
    group: GroupId,
    file: Arc<SnapshotFile>,
    fault: ApplyFault,
}

/// The snapshot file, written by the builder thread and by snapshot installs, which can run
/// at the same time: saves are serialized, and an older snapshot never replaces a newer one.
struct SnapshotFile {
    path: PathBuf,
    /// `last_log_id` of the snapshot this process saved last (outer `None`: none yet).
    saved: Mutex<Option<Option<LogId<NodeId>>>>,
}

impl SnapshotFile {
    fn save(&self, snap: &StoredSnapshot) -> SResult<()> {
        let mut saved = self.saved.lock().unwrap_or_else(|e| e.into_inner());
        if saved.is_some_and(|newest| snap.meta.last_log_id < newest) {
            tracing::info!(snapshot = %snap.meta.snapshot_id, "a newer snapshot is saved; keeping it");
            return Ok(());
        }
        let tmp = self.path.with_extension("tmp");
        std::fs::write(&tmp, encode(snap)).map_err(sm_err)?;
        std::fs::File::open(&tmp)
            .and_then(|f| f.sync_all())
            .map_err(sm_err)?;
        std::fs::rename(&tmp, &self.path).map_err(sm_err)?;
        *saved = Some(snap.meta.last_log_id);
        Ok(())
    }

    fn load(&self) -> SResult<Option<StoredSnapshot>> {
        match std::fs::read(&self.path) {
            Ok(bytes) => Ok(Some(decode("snapshot", &bytes).map_err(snap_err)?)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(snap_err(e)),
        }
    }
}

impl StateMachine {
    pub fn new(store: Store, group: GroupId, data_dir: PathBuf) -> Self {
        StateMachine {
            store,
            group,
            file: Arc::new(SnapshotFile {
                path: data_dir.join(format!("snapshot-g{group}.bin")),
                saved: Mutex::new(None),
            }),
            fault: ApplyFault::from_env(),
        }
    }
}

#[derive(Clone)]
pub struct SnapshotBuilder {
    sm_store: Store,
    group: GroupId,
    file: Arc<SnapshotFile>,
}

impl RaftSnapshotBuilder<TypeConfig> for SnapshotBuilder {
    async fn build_snapshot(&mut self) -> SResult<Snapshot<TypeConfig>> {
        let store = self.sm_store.clone();
        let group = self.group;
        let file = self.file.clone();
        // Reading the whole state and writing the file is long background work: it runs on a
        // thread of its own at a lower CPU priority, so requests and replication go first.
        let (tx, rx) = tokio::sync::oneshot::channel();
        std::thread::Builder::new()
            .name("snapshot".into())
            .spawn(move || {
                lower_thread_priority();
                let result = build(&store, group).and_then(|snap| {
                    file.save(&snap)?;
                    // Apply writes skip the WAL. openraft purges the log up to this snapshot
                    // once it is returned, so the state it covers must be on disk first.
                    store.flush().map_err(sm_err)?;
                    Ok(snap)
                });
                let _ = tx.send(result);
            })
            .map_err(sm_err)?;
        let snap = rx
            .await
            .map_err(|_| sm_err(std::io::Error::other("snapshot thread ended")))??;
        tracing::info!(snapshot = %snap.meta.snapshot_id, bytes = snap.data.len(), "built snapshot");
        Ok(Snapshot {
            meta: snap.meta,
            snapshot: Box::new(Cursor::new(snap.data)),
        })
    }
}

/// Background priority (nice 10) for the calling thread; best effort.
fn lower_thread_priority() {
    // SAFETY: a plain syscall returning the calling thread's id.
    let tid = unsafe { libc::syscall(libc::SYS_gettid) } as libc::id_t;
    if !super::db::background_priority(tid) {
        tracing::debug!("could not lower the snapshot thread's priority");
    }
}

/// Reads the whole state of `group` through one consistent RocksDB snapshot, encoding rows
/// straight into the snapshot document (no intermediate copy of the state).
fn build(store: &Store, group: GroupId) -> SResult<StoredSnapshot> {
    let view = store.db.snapshot();
    let prefix = keys::group_prefix(group);
    let end = prefix_end(&prefix);
    // {"format": SNAPSHOT_FORMAT, "rows": [[cf, key, value], ...]}; the row count is patched
    // into a fixed-width array header once known.
    let mut data = Vec::new();
    let w = &mut data;
    let enc = |e: rmp::encode::ValueWriteError| snap_err(std::io::Error::other(e.to_string()));
    rmp::encode::write_map_len(w, 2).map_err(enc)?;
    rmp::encode::write_str(w, "format").map_err(enc)?;
    rmp::encode::write_u32(w, SNAPSHOT_FORMAT).map_err(enc)?;
    rmp::encode::write_str(w, "rows").map_err(enc)?;
    let count_at = w.len();
    w.extend_from_slice(&[rmp::Marker::Array32.to_u8(), 0, 0, 0, 0]);
    let mut rows: u32 = 0;
    for name in cf::STATE {
        let it = view.iterator_cf(
            &store.cf(name),
            IteratorMode::From(&prefix, rocksdb::Direction::Forward),
        );
        for item in it {
            let (k, v) = item.map_err(snap_err)?;
            if k.as_ref() >= end.as_slice() {
                break;
            }
            rmp::encode::write_array_len(w, 3).map_err(enc)?;
            rmp::encode::write_str(w, name).map_err(enc)?;
            rmp::encode::write_bin(w, &k).map_err(enc)?;
            rmp::encode::write_bin(w, &v).map_err(enc)?;
            rows += 1;
        }
    }
    data[count_at + 1..count_at + 5].copy_from_slice(&rows.to_be_bytes());
    let get = |name: &str| -> SResult<Option<Vec<u8>>> {
        view.get_cf(&store.cf(cf::SM_META), keys::meta(group, name))
            .map_err(snap_err)
    };
    let last_applied: Option<LogId<NodeId>> = match get(LAST_APPLIED)? {
        Some(v) => decode(cf::SM_META, &v).map_err(snap_err)?,
        None => None,
    };
    let membership: StoredMembership<NodeId, Node> = match get(MEMBERSHIP)? {
        Some(v) => decode(cf::SM_META, &v).map_err(snap_err)?,
        None => StoredMembership::default(),
    };
    let snapshot_id = match last_applied {
        Some(l) => format!("{}-{}-{}", l.leader_id, l.index, rows),
        None => format!("none-{rows}"),
    };
    Ok(StoredSnapshot {
        meta: SnapshotMeta {
            last_log_id: last_applied,
            last_membership: membership,
            snapshot_id,
        },
        data,
    })
}

impl RaftStateMachine<TypeConfig> for StateMachine {
    type SnapshotBuilder = SnapshotBuilder;

    async fn applied_state(
        &mut self,
    ) -> SResult<(Option<LogId<NodeId>>, StoredMembership<NodeId, Node>)> {
        let last: Option<Option<LogId<NodeId>>> = self
            .store
            .get(cf::SM_META, &keys::meta(self.group, LAST_APPLIED))
            .map_err(sm_err)?;
        let membership: Option<StoredMembership<NodeId, Node>> = self
            .store
            .get(cf::SM_META, &keys::meta(self.group, MEMBERSHIP))
            .map_err(sm_err)?;
        Ok((last.flatten(), membership.unwrap_or_default()))
    }

    async fn apply<I>(&mut self, entries: I) -> SResult<Vec<Reply>>
    where
        I: IntoIterator<Item = Entry<TypeConfig>> + openraft::OptionalSend,
        I::IntoIter: openraft::OptionalSend,
    {
        let g = self.group;
        let mut txn = Txn::new(&self.store, g);
        let mut replies = Vec::new();
        let mut last = None;
        let mut writes = 0usize;
        for entry in entries {
            last = Some(entry.log_id);
            writes += match &entry.payload {
                EntryPayload::Normal(e) => e.parts().len(),
                _ => 1,
            };
            let reply = match entry.payload {
                EntryPayload::Blank => Reply::Ok(Outcome::None),
                EntryPayload::Normal(ref e) => {
                    self.fault.check()?;
                    apply_entry(&mut txn, entry.log_id.index, e).map_err(sm_err)?
                }
                EntryPayload::Membership(ref m) => {
                    let stored = StoredMembership::new(Some(entry.log_id), m.clone());
                    txn.put(cf::SM_META, keys::meta(g, MEMBERSHIP), &stored);
                    Reply::Ok(Outcome::None)
                }
            };
            replies.push(reply);
        }
        if last.is_some() {
            txn.put(cf::SM_META, keys::meta(g, LAST_APPLIED), &last);
        }
        crate::metrics::APPLY_BATCH.observe(writes as f64);
        // No WAL: the fsync'd Raft log is this write's log. After a crash the state column
        // families come back as of their last (atomic) flush, `last_applied` included, and
        // openraft re-applies the rest from the log. Snapshots flush before the log is purged.
        let mut opts = rocksdb::WriteOptions::default();
        opts.disable_wal(true);
        self.store
            .db
            .write_opt(txn.into_batch(), &opts)
            .map_err(sm_err)?;
        Ok(replies)
    }

    async fn get_snapshot_builder(&mut self) -> Self::SnapshotBuilder {
        SnapshotBuilder {
            sm_store: self.store.clone(),
            group: self.group,
            file: self.file.clone(),
        }
    }

    async fn begin_receiving_snapshot(&mut self) -> SResult<Box<Cursor<Vec<u8>>>> {
        Ok(Box::new(Cursor::new(Vec::new())))
    }

    async fn install_snapshot(
        &mut self,
        meta: &SnapshotMeta<NodeId, Node>,
        snapshot: Box<Cursor<Vec<u8>>>,
    ) -> SResult<()> {
        let data = snapshot.into_inner();
        let body: SnapshotBody = decode("snapshot", &data).map_err(snap_err)?;
        if body.format != SNAPSHOT_FORMAT {
            return Err(snap_err(std::io::Error::other(format!(
                "unknown snapshot format {}",
                body.format
            ))));
        }
        let prefix = keys::group_prefix(self.group);
        let end = prefix_end(&prefix);
        let mut batch = WriteBatch::default();
        for name in cf::STATE {
            batch.delete_range_cf(&self.store.cf(name), &prefix, &end);
        }
        for (name, k, v) in &body.rows {
            let Some(cf_name) = cf::STATE.iter().find(|c| **c == name.as_str()) else {
                return Err(snap_err(std::io::Error::other(format!(
                    "unknown column family {name} in snapshot"
                ))));
            };
            batch.put_cf(&self.store.cf(cf_name), k, v);
        }
        // The snapshot's own view of last_applied/membership is authoritative.
        batch.put_cf(
            &self.store.cf(cf::SM_META),
            keys::meta(self.group, LAST_APPLIED),
            encode(&meta.last_log_id),
        );
        batch.put_cf(
            &self.store.cf(cf::SM_META),
            keys::meta(self.group, MEMBERSHIP),
            encode(&meta.last_membership),
        );
        self.store.db.write(batch).map_err(sm_err)?;
        self.file.save(&StoredSnapshot {
            meta: meta.clone(),
            data,
        })?;
        tracing::info!(snapshot = %meta.snapshot_id, "installed snapshot");
        Ok(())
    }

    async fn get_current_snapshot(&mut self) -> SResult<Option<Snapshot<TypeConfig>>> {
        Ok(self.file.load()?.map(|s| Snapshot {
            meta: s.meta,
            snapshot: Box::new(Cursor::new(s.data)),
        }))
    }
}

/// A consistent backup of the chat state: the snapshot format, as one byte string.
pub fn backup(store: &Store, group: GroupId) -> SResult<Vec<u8>> {
    Ok(encode(&build(store, group)?))
}

/// Seeds an empty database from a backup: every view, but neither the old cluster's Raft state
/// (applied index, membership) nor its outbox (those events were already published).
/// Returns the number of rows written.
pub fn restore(store: &Store, group: GroupId, bytes: &[u8]) -> SResult<usize> {
    let snap: StoredSnapshot = decode("backup", bytes).map_err(snap_err)?;
    let body: SnapshotBody = decode("backup", &snap.data).map_err(snap_err)?;
    if body.format != SNAPSHOT_FORMAT {
        return Err(snap_err(std::io::Error::other(format!(
            "unknown backup format {}",
            body.format
        ))));
    }
    let mut batch = WriteBatch::default();
    let mut rows = 0;
    let prefix = keys::group_prefix(group);
    for (name, k, v) in &body.rows {
        let Some(cf_name) = cf::STATE.iter().find(|c| **c == name.as_str()) else {
            continue;
        };
        if *cf_name == cf::SM_META || *cf_name == cf::OUTBOX || !k.starts_with(&prefix) {
            continue;
        }
        batch.put_cf(&store.cf(cf_name), k, v);
        rows += 1;
    }
    store.db.write(batch).map_err(sm_err)?;
    Ok(rows)
}

#[cfg(test)]
mod tests;
