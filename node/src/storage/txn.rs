//! A write overlay over the database for applying one batch of log entries: reads see the
//! batch's own earlier writes, and everything lands in one `WriteBatch` at the end.

use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet, HashMap};

use proto::event::Event;
use rocksdb::WriteBatch;
use serde::de::DeserializeOwned;
use serde::Serialize;

use super::cf;
use super::db::{decode, encode, Rows, Store, StoreError};
use super::keys::GroupId;

pub struct Txn<'a> {
    store: &'a Store,
    pub group: GroupId,
    writes: BTreeMap<CfKey, Option<Vec<u8>>>,
    /// Rows read from the database during this batch, for the column families that every post
    /// reads again (its namespace and room): the database does not change under a batch.
    reads: RefCell<HashMap<CfKey, Option<Vec<u8>>>>,
    /// Events emitted by the entry being applied: (namespace, room, event).
    events: Vec<(String, Option<String>, Event)>,
    /// Next outbox sequence number within the current log entry.
    outbox_seq: u32,
}

/// A row's column family and key.
type CfKey = (&'static str, Vec<u8>);

/// Column families whose rows a batch reads again and again (see `Txn::reads`).
const REREAD: &[&str] = &[cf::NAMESPACES, cf::ROOMS, cf::CURRENT_MASTERS];

impl<'a> Txn<'a> {
    pub fn new(store: &'a Store, group: GroupId) -> Self {
        Txn {
            store,
            group,
            writes: BTreeMap::new(),
            reads: RefCell::new(HashMap::new()),
            events: Vec::new(),
            outbox_seq: 0,
        }
    }

    pub fn get_raw(&self, cf: &'static str, key: &[u8]) -> Result<Option<Vec<u8>>, StoreError> {
        let k = (cf, key.to_vec());
        if let Some(v) = self.writes.get(&k) {
            return Ok(v.clone());
        }
        if !REREAD.contains(&cf) {
            return self.store.get_raw(cf, key);
        }
        if let Some(v) = self.reads.borrow().get(&k) {
            return Ok(v.clone());
        }
        let v = self.store.get_raw(cf, key)?;
        self.reads.borrow_mut().insert(k, v.clone());
        Ok(v)
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

    pub fn put<T: Serialize>(&mut self, cf: &'static str, key: Vec<u8>, value: &T) {
        self.writes.insert((cf, key), Some(encode(value)));
    }

    pub fn put_raw(&mut self, cf: &'static str, key: Vec<u8>, value: Vec<u8>) {
        self.writes.insert((cf, key), Some(value));
    }

    pub fn delete(&mut self, cf: &'static str, key: Vec<u8>) {
        self.writes.insert((cf, key), None);
    }

    /// Every live key and value under `prefix`, ascending, merging the overlay.
    pub fn scan(&self, cf: &'static str, prefix: &[u8]) -> Result<Rows, StoreError> {
        let mut merged: BTreeMap<Vec<u8>, Vec<u8>> = self
            .store
            .scan(cf, prefix, None, usize::MAX)?
            .into_iter()
            .collect();
        for ((c, k), v) in self.writes.range((cf, prefix.to_vec())..) {
            if *c != cf || !k.starts_with(prefix) {
                break;
            }
            match v {
                Some(v) => merged.insert(k.clone(), v.clone()),
                None => merged.remove(k),
            };
        }
        Ok(merged.into_iter().collect())
    }

    /// Every live key and value in `[start, end)`, ascending, merging the overlay.
    pub fn scan_until(
        &self,
        cf: &'static str,
        start: &[u8],
        end: &[u8],
    ) -> Result<Rows, StoreError> {
        let mut merged: BTreeMap<Vec<u8>, Vec<u8>> =
            self.store.scan_range(cf, start, end)?.into_iter().collect();
        for ((c, k), v) in self.writes.range((cf, start.to_vec())..) {
            if *c != cf || k.as_slice() >= end {
                break;
            }
            match v {
                Some(v) => merged.insert(k.clone(), v.clone()),
                None => merged.remove(k),
            };
        }
        Ok(merged.into_iter().collect())
    }

    /// The first `limit` live rows in `[start, end)`, ascending, merging the overlay. The answer
    /// is the same whatever the overlay holds (rows this batch deleted are skipped, not
    /// counted), so a bounded scan in apply is deterministic across replicas.
    pub fn scan_until_at_most(
        &self,
        cf: &'static str,
        start: &[u8],
        end: &[u8],
        limit: usize,
    ) -> Result<Rows, StoreError> {
        if limit == usize::MAX {
            return self.scan_until(cf, start, end);
        }
        let overlay: Vec<(&Vec<u8>, &Option<Vec<u8>>)> = self
            .writes
            .range((cf, start.to_vec())..)
            .take_while(|((c, k), _)| *c == cf && k.as_slice() < end)
            .map(|((_, k), v)| (k, v))
            .collect();
        // Each deletion in the overlay hides at most one stored row: reading that many more
        // stored rows than asked still yields the first `limit` live ones.
        let deleted = overlay.iter().filter(|(_, v)| v.is_none()).count();
        let mut merged: BTreeMap<Vec<u8>, Vec<u8>> = self
            .store
            .scan_range_at_most(cf, start, end, limit.saturating_add(deleted))?
            .into_iter()
            .collect();
        for (k, v) in overlay {
            match v {
                Some(v) => merged.insert(k.clone(), v.clone()),
                None => merged.remove(k),
            };
        }
        Ok(merged.into_iter().take(limit).collect())
    }

    /// Like [`Txn::scan_until`], keys only: values are neither read nor copied.
    pub fn keys_until(
        &self,
        cf: &'static str,
        start: &[u8],
        end: &[u8],
    ) -> Result<Vec<Vec<u8>>, StoreError> {
        let mut merged: BTreeSet<Vec<u8>> =
            self.store.keys_range(cf, start, end)?.into_iter().collect();
        for ((c, k), v) in self.writes.range((cf, start.to_vec())..) {
            if *c != cf || k.as_slice() >= end {
                break;
            }
            match v {
                Some(_) => merged.insert(k.clone()),
                None => merged.remove(k),
            };
        }
        Ok(merged.into_iter().collect())
    }

    /// Records an event for the outbox of the entry being applied.
    pub fn emit(&mut self, namespace: &str, room: Option<&str>, event: Event) {
        self.events
            .push((namespace.to_string(), room.map(str::to_string), event));
    }

    /// Starts a new log entry: outbox sequence numbers restart at 0.
    pub fn start_entry(&mut self, _index: u64) {
        self.outbox_seq = 0;
    }

    pub fn next_outbox_seq(&mut self) -> u32 {
        let seq = self.outbox_seq;
        self.outbox_seq += 1;
        seq
    }

    pub fn take_events(&mut self) -> Vec<(String, Option<String>, Event)> {
        std::mem::take(&mut self.events)
    }

    pub fn into_batch(self) -> WriteBatch {
        let mut batch = WriteBatch::default();
        let mut handle_of = None;
        for ((cf, key), value) in self.writes {
            // Writes are ordered by column family: look each handle up once.
            let handle = match &handle_of {
                Some((name, h)) if *name == cf => h,
                _ => &handle_of.insert((cf, self.store.cf(cf))).1,
            };
            match value {
                Some(v) => batch.put_cf(handle, key, v),
                None => batch.delete_cf(handle, key),
            }
        }
        batch
    }
}
