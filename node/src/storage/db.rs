//! The RocksDB instance shared by the log store, the state machine and the read path.

use std::path::Path;
use std::sync::Arc;

use rocksdb::{
    BoundColumnFamily, ColumnFamilyDescriptor, DBWithThreadMode, MultiThreaded, Options,
};
use serde::de::DeserializeOwned;
use serde::Serialize;

use super::cf;
use super::keys::prefix_end;

pub type Db = DBWithThreadMode<MultiThreaded>;

/// RocksDB's default memtable size.
const MEMTABLE_BYTES: usize = 64 << 20;

/// Keys and values read by a scan.
pub type Rows = Vec<(Vec<u8>, Vec<u8>)>;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("rocksdb: {0}")]
    Rocks(#[from] rocksdb::Error),
    #[error("corrupt value in {cf}: {reason}")]
    Corrupt { cf: &'static str, reason: String },
    #[error("io: {0}")]
    Io(#[from] std::io::Error),
}

/// A cheap, cloneable handle on the database.
#[derive(Clone)]
pub struct Store {
    pub db: Arc<Db>,
}

impl Store {
    pub fn open(dir: &Path) -> Result<Self, StoreError> {
        Self::open_for_node(dir, 0)
    }

    /// Opens the database of cluster member `node_id`. Apply is deterministic, so with equal
    /// memtable sizes every replica would fill its memtables at the same log index and all
    /// would flush at once (a second of CPU each here); a commit then waits for a flushing
    /// quorum. Memtables are sized 64 MiB plus up to 3/16 more by node id (like the snapshot
    /// threshold), so members flush at different times.
    pub fn open_for_node(dir: &Path, node_id: u64) -> Result<Self, StoreError> {
        let write_buffer = MEMTABLE_BYTES + MEMTABLE_BYTES * (node_id % 4) as usize * 3 / 16;
        let mut opts = Options::default();
        opts.create_if_missing(true);
        opts.create_missing_column_families(true);
        opts.set_compression_type(rocksdb::DBCompressionType::Lz4);
        // The state machine writes without the WAL: column families must flush together so
        // that what survives a crash is one consistent prefix of applied batches.
        opts.set_atomic_flush(true);
        let cfs = cf::all()
            .into_iter()
            .map(|name| ColumnFamilyDescriptor::new(name, cf_options(name, write_buffer)));
        let db = Db::open_cf_descriptors(&opts, dir, cfs)?;
        lower_background_priority();
        Ok(Store { db: Arc::new(db) })
    }

    /// Flushes every memtable to disk and waits (apply writes skip the WAL: see DESIGN.md).
    pub fn flush(&self) -> Result<(), StoreError> {
        let handles: Vec<_> = cf::all().into_iter().map(|n| self.cf(n)).collect();
        let refs: Vec<_> = handles.iter().collect();
        self.db
            .flush_cfs_opt(&refs, &rocksdb::FlushOptions::default())?;
        Ok(())
    }

    pub fn cf(&self, name: &'static str) -> Arc<BoundColumnFamily<'_>> {
        self.db
            .cf_handle(name)
            .expect("every column family is created at open")
    }

    pub fn get_raw(&self, cf: &'static str, key: &[u8]) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(self.db.get_cf(&self.cf(cf), key)?)
    }

    pub fn get<T: DeserializeOwned>(
        &self,
        cf: &'static str,
        key: &[u8],
    ) -> Result<Option<T>, StoreError> {
        match self.get_raw(cf, key)? {
            Some(v) => decode(cf, &v).map(Some),
            None => Ok(None),
        }
    }

    /// Keys and values in `[from, prefix_end(prefix))`, ascending, at most `limit`.
    pub fn scan(
        &self,
        cf: &'static str,
        prefix: &[u8],
        from: Option<&[u8]>,
        limit: usize,
    ) -> Result<Rows, StoreError> {
        let start = from.unwrap_or(prefix);
        let mut it = self.db.raw_iterator_cf(&self.cf(cf));
        it.seek(start);
        let mut out = Vec::new();
        while it.valid() && out.len() < limit {
            let (Some(k), Some(v)) = (it.key(), it.value()) else {
                break;
            };
            if !k.starts_with(prefix) {
                break;
            }
            out.push((k.to_vec(), v.to_vec()));
            it.next();
        }
        it.status()?;
        Ok(out)
    }

    /// Keys and values in `[start, end)`, ascending.
    pub fn scan_range(
        &self,
        cf: &'static str,
        start: &[u8],
        end: &[u8],
    ) -> Result<Rows, StoreError> {
        let mut out = Vec::new();
        self.each_in_range(cf, start, end, |k, v| {
            out.push((k.to_vec(), v.to_vec()));
            true
        })?;
        Ok(out)
    }

    /// The first `limit` keys and values in `[start, end)`, ascending.
    pub fn scan_range_at_most(
        &self,
        cf: &'static str,
        start: &[u8],
        end: &[u8],
        limit: usize,
    ) -> Result<Rows, StoreError> {
        let mut out = Vec::new();
        if limit == 0 {
            return Ok(out);
        }
        self.each_in_range(cf, start, end, |k, v| {
            out.push((k.to_vec(), v.to_vec()));
            out.len() < limit
        })?;
        Ok(out)
    }

    /// Keys in `[start, end)`, ascending; values are not copied.
    pub fn keys_range(
        &self,
        cf: &'static str,
        start: &[u8],
        end: &[u8],
    ) -> Result<Vec<Vec<u8>>, StoreError> {
        let mut out = Vec::new();
        self.each_in_range(cf, start, end, |k, _| {
            out.push(k.to_vec());
            true
        })?;
        Ok(out)
    }

    /// Calls `f` with each key and value in `[start, end)`, ascending, borrowed from the
    /// iterator, until `f` returns false.
    fn each_in_range(
        &self,
        cf: &'static str,
        start: &[u8],
        end: &[u8],
        mut f: impl FnMut(&[u8], &[u8]) -> bool,
    ) -> Result<(), StoreError> {
        let mut it = self.db.raw_iterator_cf(&self.cf(cf));
        it.seek(start);
        while it.valid() {
            let (Some(k), Some(v)) = (it.key(), it.value()) else {
                break;
            };
            if k >= end || !f(k, v) {
                break;
            }
            it.next();
        }
        it.status()?;
        Ok(())
    }

    /// Keys and values under `prefix` strictly before `before` (or all), descending, at most `limit`.
    pub fn scan_rev(
        &self,
        cf: &'static str,
        prefix: &[u8],
        before: Option<&[u8]>,
        limit: usize,
    ) -> Result<Rows, StoreError> {
        let mut it = self.db.raw_iterator_cf(&self.cf(cf));
        match before {
            Some(b) => {
                it.seek_for_prev(b);
                if it.valid() && it.key() == Some(b) {
                    it.prev();
                }
            }
            None => it.seek_for_prev(prefix_end(prefix)),
        }
        let mut out = Vec::new();
        while it.valid() && out.len() < limit {
            let (Some(k), Some(v)) = (it.key(), it.value()) else {
                break;
            };
            if !k.starts_with(prefix) {
                if k > prefix {
                    it.prev();
                    continue;
                }
                break;
            }
            out.push((k.to_vec(), v.to_vec()));
            it.prev();
        }
        it.status()?;
        Ok(out)
    }
}

/// RocksDB's flush and compaction threads run at nice 10: a memtable flush takes about a
/// second of CPU here, and at normal priority it halves what requests and replication get
/// (p99 spikes of ~200 ms). Memtables may queue up (`max_write_buffer_number` 4) while a
/// flush waits for CPU, so writes do not stall. Best effort: threads are found by name.
fn lower_background_priority() {
    let Ok(tasks) = std::fs::read_dir("/proc/self/task") else {
        return;
    };
    for task in tasks.flatten() {
        let comm = std::fs::read_to_string(task.path().join("comm")).unwrap_or_default();
        let Ok(tid) = task.file_name().to_string_lossy().parse::<libc::id_t>() else {
            continue;
        };
        if comm.starts_with("rocksdb:") {
            background_priority(tid);
        }
    }
}

/// Sets thread `tid` of this process to nice 10 (background work: RocksDB's threads, snapshot
/// building); returns whether it worked.
pub fn background_priority(tid: libc::id_t) -> bool {
    // SAFETY: a plain syscall on a thread id of this process.
    unsafe { libc::setpriority(libc::PRIO_PROCESS, tid, 10) == 0 }
}

/// Column-family options. Every table gets a bloom filter: apply looks up keys that are
/// usually absent (duplication avoiders, new message names), and without a filter each miss
/// reads an index block of every level-0 file. Column families read by key on every post also
/// get a memtable filter.
fn cf_options(name: &str, write_buffer: usize) -> Options {
    let mut opts = Options::default();
    opts.set_write_buffer_size(write_buffer);
    opts.set_max_write_buffer_number(4);
    let mut table = rocksdb::BlockBasedOptions::default();
    table.set_bloom_filter(10.0, false);
    opts.set_block_based_table_factory(&table);
    if cf::POINT_READ.contains(&name) {
        opts.set_memtable_whole_key_filtering(true);
        opts.set_memtable_prefix_bloom_ratio(0.05);
    }
    opts
}

pub fn encode<T: Serialize>(value: &T) -> Vec<u8> {
    rmp_serde::to_vec_named(value).expect("stored values always encode")
}

pub fn decode<T: DeserializeOwned>(cf: &'static str, bytes: &[u8]) -> Result<T, StoreError> {
    rmp_serde::from_slice(bytes).map_err(|e| StoreError::Corrupt {
        cf,
        reason: e.to_string(),
    })
}

impl Store {
    /// Sets the `chat_rocksdb_bytes` gauges (estimated live data per column family); called
    /// when metrics are scraped.
    pub fn refresh_size_gauges(&self) {
        for name in super::cf::all() {
            if let Some(handle) = self.db.cf_handle(name) {
                if let Ok(Some(v)) = self
                    .db
                    .property_int_value_cf(&handle, "rocksdb.estimate-live-data-size")
                {
                    crate::metrics::ROCKSDB_BYTES
                        .with_label_values(&[name])
                        .set(v as i64);
                }
            }
        }
    }
}
