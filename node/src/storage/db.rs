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
        let mut opts = Options::default();
        opts.create_if_missing(true);
        opts.create_missing_column_families(true);
        opts.set_compression_type(rocksdb::DBCompressionType::Lz4);
        let cfs = cf::all()
            .into_iter()
            .map(|name| ColumnFamilyDescriptor::new(name, Options::default()));
        let db = Db::open_cf_descriptors(&opts, dir, cfs)?;
        Ok(Store { db: Arc::new(db) })
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
        let mut it = self.db.raw_iterator_cf(&self.cf(cf));
        it.seek(start);
        let mut out = Vec::new();
        while it.valid() {
            let (Some(k), Some(v)) = (it.key(), it.value()) else {
                break;
            };
            if k >= end {
                break;
            }
            out.push((k.to_vec(), v.to_vec()));
            it.next();
        }
        it.status()?;
        Ok(out)
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

pub fn encode<T: Serialize>(value: &T) -> Vec<u8> {
    rmp_serde::to_vec_named(value).expect("stored values always encode")
}

pub fn decode<T: DeserializeOwned>(cf: &'static str, bytes: &[u8]) -> Result<T, StoreError> {
    rmp_serde::from_slice(bytes).map_err(|e| StoreError::Corrupt {
        cf,
        reason: e.to_string(),
    })
}
