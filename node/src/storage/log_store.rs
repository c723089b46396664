//! The Raft log in RocksDB (`raft_log` and `raft_meta` column families).
//!
//! Appends are written as one `WriteBatch` per call, without waiting for the disk: the entries
//! are readable at once, and [`WalSync`] tells openraft when they are durable (one WAL sync for
//! every append waiting, on a thread of its own, so Raft's core task never blocks on it).

use std::fmt::Debug;
use std::ops::{Bound, RangeBounds};

use openraft::storage::{LogFlushed, LogState, RaftLogReader, RaftLogStorage};
use openraft::{AnyError, Entry, LogId, OptionalSend, StorageError, StorageIOError, Vote};
use rocksdb::{WriteBatch, WriteOptions};

use std::sync::{Arc, Mutex};

use super::cf;
use super::db::{decode, encode, Store};
use super::keys::{self, GroupId};
use super::log_cache::{self, LogCache};
use super::wal_sync::WalSync;
use crate::raft_types::{NodeId, TypeConfig};

const VOTE: &str = "vote";
const COMMITTED: &str = "committed";
const PURGED: &str = "last_purged";

#[derive(Clone)]
pub struct LogStore {
    store: Store,
    group: GroupId,
    /// The newest entries, shared by the log and its readers (replication, apply).
    cache: Arc<Mutex<LogCache>>,
    wal_sync: Arc<WalSync>,
    committed: CommitIndex,
}

/// The commit index this log store last saved, shared with the cluster handle's status (read
/// from here, never back from a metrics gauge).
#[derive(Clone, Default)]
pub struct CommitIndex(Arc<std::sync::atomic::AtomicU64>);

impl CommitIndex {
    /// `None` until a commit index is known.
    pub fn get(&self) -> Option<u64> {
        let v = self.0.load(std::sync::atomic::Ordering::Relaxed);
        (v > 0).then_some(v)
    }

    fn set(&self, index: u64) {
        self.0.store(index, std::sync::atomic::Ordering::Relaxed);
        crate::metrics::RAFT_COMMIT_INDEX.set(index as i64);
    }
}

type SResult<T> = Result<T, StorageError<NodeId>>;

fn io_err<E: std::error::Error + 'static>(
    f: fn(AnyError) -> StorageIOError<NodeId>,
) -> impl FnOnce(E) -> StorageError<NodeId> {
    move |e| f(AnyError::new(&e)).into()
}

impl LogStore {
    pub fn new(store: Store, group: GroupId) -> std::io::Result<Self> {
        Ok(LogStore {
            wal_sync: Arc::new(WalSync::start(store.clone())?),
            store,
            group,
            cache: Arc::new(Mutex::new(LogCache::new(log_cache::DEFAULT_CAPACITY_BYTES))),
            committed: CommitIndex::default(),
        })
    }

    /// A handle on the commit index this store saves.
    pub fn commit_index(&self) -> CommitIndex {
        self.committed.clone()
    }

    fn meta_get<T: serde::de::DeserializeOwned>(&self, name: &str) -> SResult<Option<T>> {
        self.store
            .get(cf::RAFT_META, &keys::meta(self.group, name))
            .map_err(io_err(StorageIOError::read))
    }

    /// Writes one meta value; `sync` waits for the disk (the vote must survive a crash).
    fn meta_put<T: serde::Serialize>(&self, name: &str, v: &T, sync: bool) -> SResult<()> {
        let mut opts = WriteOptions::default();
        opts.set_sync(sync);
        self.store
            .db
            .put_cf_opt(
                &self.store.cf(cf::RAFT_META),
                keys::meta(self.group, name),
                encode(v),
                &opts,
            )
            .map_err(io_err(StorageIOError::write))
    }

    fn last_entry_id(&self) -> SResult<Option<LogId<NodeId>>> {
        let prefix = keys::group_prefix(self.group);
        let last = self
            .store
            .scan_rev(cf::LOG, &prefix, None, 1)
            .map_err(io_err(StorageIOError::read_logs))?;
        match last.first() {
            Some((_, v)) => {
                let e: Entry<TypeConfig> =
                    decode(cf::LOG, v).map_err(io_err(StorageIOError::read_logs))?;
                Ok(Some(e.log_id))
            }
            None => Ok(None),
        }
    }
}

impl RaftLogReader<TypeConfig> for LogStore {
    async fn try_get_log_entries<RB: RangeBounds<u64> + Clone + Debug + OptionalSend>(
        &mut self,
        range: RB,
    ) -> SResult<Vec<Entry<TypeConfig>>> {
        let start = match range.start_bound() {
            Bound::Included(i) => *i,
            Bound::Excluded(i) => i + 1,
            Bound::Unbounded => 0,
        };
        let end = match range.end_bound() {
            Bound::Included(i) => i.saturating_add(1),
            Bound::Excluded(i) => *i,
            Bound::Unbounded => u64::MAX,
        };
        if start >= end {
            return Ok(Vec::new());
        }
        if let Some(hit) = self.cache.lock().expect("log cache lock").get(start, end) {
            return Ok(hit);
        }
        let rows = self
            .store
            .scan_range(
                cf::LOG,
                &keys::log(self.group, start),
                &keys::log(self.group, end),
            )
            .map_err(io_err(StorageIOError::read_logs))?;
        rows.iter()
            .map(|(_, v)| decode(cf::LOG, v).map_err(io_err(StorageIOError::read_logs)))
            .collect()
    }
}

impl RaftLogStorage<TypeConfig> for LogStore {
    type LogReader = Self;

    async fn get_log_state(&mut self) -> SResult<LogState<TypeConfig>> {
        let last_purged: Option<LogId<NodeId>> = self.meta_get(PURGED)?;
        let last = self.last_entry_id()?.or(last_purged);
        Ok(LogState {
            last_purged_log_id: last_purged,
            last_log_id: last,
        })
    }

    async fn get_log_reader(&mut self) -> Self::LogReader {
        self.clone()
    }

    async fn save_vote(&mut self, vote: &Vote<NodeId>) -> SResult<()> {
        self.meta_put(VOTE, vote, true)
    }

    async fn read_vote(&mut self) -> SResult<Option<Vote<NodeId>>> {
        self.meta_get(VOTE)
    }

    async fn save_committed(&mut self, committed: Option<LogId<NodeId>>) -> SResult<()> {
        if let Some(c) = committed {
            self.committed.set(c.index);
        }
        // Only a hint for restarts (openraft re-learns the commit index from a quorum), so it
        // is not fsync'd on its own: it rides on the next synced log append. A synced write
        // here cost one more fsync per commit, on Raft's core task.
        self.meta_put(COMMITTED, &committed, false)
    }

    async fn read_committed(&mut self) -> SResult<Option<LogId<NodeId>>> {
        let committed = self.meta_get::<Option<LogId<NodeId>>>(COMMITTED)?.flatten();
        if let Some(c) = committed {
            self.committed.set(c.index);
        }
        Ok(committed)
    }

    async fn append<I>(&mut self, entries: I, callback: LogFlushed<TypeConfig>) -> SResult<()>
    where
        I: IntoIterator<Item = Entry<TypeConfig>> + OptionalSend,
        I::IntoIter: OptionalSend,
    {
        let handle = self.store.cf(cf::LOG);
        let mut batch = WriteBatch::default();
        let mut appended = Vec::new();
        for e in entries {
            let bytes = encode(&e);
            let size = bytes.len();
            batch.put_cf(&handle, keys::log(self.group, e.log_id.index), bytes);
            appended.push((e, size));
        }
        let res = self.store.db.write(batch);
        crate::metrics::LOG_APPEND_BATCH.observe(appended.len() as f64);
        match res {
            Ok(()) => {
                let mut cache = self.cache.lock().expect("log cache lock");
                for (e, size) in appended {
                    cache.push(e, size);
                }
                drop(cache);
                self.wal_sync.after_sync(callback);
                Ok(())
            }
            Err(e) => {
                callback.log_io_completed(Err(std::io::Error::other(e.to_string())));
                Err(io_err(StorageIOError::write_logs)(e))
            }
        }
    }

    async fn truncate(&mut self, log_id: LogId<NodeId>) -> SResult<()> {
        self.cache
            .lock()
            .expect("log cache lock")
            .truncate_from(log_id.index);
        let handle = self.store.cf(cf::LOG);
        let mut batch = WriteBatch::default();
        batch.delete_range_cf(
            &handle,
            keys::log(self.group, log_id.index),
            keys::log(self.group, u64::MAX),
        );
        let mut opts = WriteOptions::default();
        opts.set_sync(true);
        self.store
            .db
            .write_opt(batch, &opts)
            .map_err(io_err(StorageIOError::write_logs))
    }

    async fn purge(&mut self, log_id: LogId<NodeId>) -> SResult<()> {
        self.cache
            .lock()
            .expect("log cache lock")
            .purge_through(log_id.index);
        self.meta_put(PURGED, &log_id, true)?;
        let handle = self.store.cf(cf::LOG);
        let mut batch = WriteBatch::default();
        batch.delete_range_cf(
            &handle,
            keys::log(self.group, 0),
            keys::log(self.group, log_id.index + 1),
        );
        self.store
            .db
            .write(batch)
            .map_err(io_err(StorageIOError::write_logs))
    }
}
