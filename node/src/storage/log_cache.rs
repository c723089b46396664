//! The newest log entries, decoded, in memory.
//!
//! Right after an append, openraft reads the same entries back once per follower (to replicate
//! them) and once more to apply them. Served from RocksDB, each read decodes every entry again;
//! this cache serves them from memory. It holds a contiguous run of indexes ending at the last
//! appended one, bounded in bytes (encoded size); older reads fall through to RocksDB.

use std::collections::VecDeque;

use openraft::Entry;

use crate::raft_types::TypeConfig;

/// Default bound: the encoded size of the entries held.
pub const DEFAULT_CAPACITY_BYTES: usize = 64 * 1024 * 1024;

pub struct LogCache {
    capacity: usize,
    bytes: usize,
    /// Entries with consecutive indexes, oldest first, with their encoded size.
    entries: VecDeque<(Entry<TypeConfig>, usize)>,
}

impl LogCache {
    pub fn new(capacity: usize) -> Self {
        LogCache {
            capacity,
            bytes: 0,
            entries: VecDeque::new(),
        }
    }

    fn first_index(&self) -> Option<u64> {
        self.entries.front().map(|(e, _)| e.log_id.index)
    }

    fn next_index(&self) -> Option<u64> {
        self.entries.back().map(|(e, _)| e.log_id.index + 1)
    }

    /// Records an appended entry. An entry that does not follow the last one restarts the run.
    pub fn push(&mut self, entry: Entry<TypeConfig>, size: usize) {
        if self.next_index() != Some(entry.log_id.index) {
            self.clear();
        }
        self.bytes += size;
        self.entries.push_back((entry, size));
        while self.bytes > self.capacity {
            match self.entries.pop_front() {
                Some((_, s)) => self.bytes -= s,
                None => break,
            }
        }
    }

    /// Entries `[start, end)` when the cache holds all of them.
    pub fn get(&self, start: u64, end: u64) -> Option<Vec<Entry<TypeConfig>>> {
        let first = self.first_index()?;
        let next = self.next_index()?;
        if start < first || end > next || start >= end {
            return None;
        }
        let from = (start - first) as usize;
        let to = (end - first) as usize;
        Some(
            self.entries
                .range(from..to)
                .map(|(e, _)| e.clone())
                .collect(),
        )
    }

    /// Forgets entries at `index` and after (a log truncation).
    pub fn truncate_from(&mut self, index: u64) {
        while self
            .entries
            .back()
            .is_some_and(|(e, _)| e.log_id.index >= index)
        {
            if let Some((_, s)) = self.entries.pop_back() {
                self.bytes -= s;
            }
        }
    }

    /// Forgets entries up to and including `index` (a purge).
    pub fn purge_through(&mut self, index: u64) {
        while self
            .entries
            .front()
            .is_some_and(|(e, _)| e.log_id.index <= index)
        {
            if let Some((_, s)) = self.entries.pop_front() {
                self.bytes -= s;
            }
        }
    }

    pub fn clear(&mut self) {
        self.entries.clear();
        self.bytes = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use openraft::{CommittedLeaderId, EntryPayload, LogId};

    fn entry(index: u64) -> Entry<TypeConfig> {
        Entry {
            log_id: LogId::new(CommittedLeaderId::new(1, 1), index),
            payload: EntryPayload::Blank,
        }
    }

    fn indexes(v: Option<Vec<Entry<TypeConfig>>>) -> Option<Vec<u64>> {
        v.map(|v| v.iter().map(|e| e.log_id.index).collect())
    }

    #[test]
    fn serves_only_ranges_it_holds_entirely() {
        let mut c = LogCache::new(1000);
        for i in 5..10 {
            c.push(entry(i), 10);
        }
        assert_eq!(indexes(c.get(5, 10)), Some(vec![5, 6, 7, 8, 9]));
        assert_eq!(indexes(c.get(7, 9)), Some(vec![7, 8]));
        assert_eq!(
            c.get(4, 6).map(|v| v.len()),
            None,
            "starts before the cache"
        );
        assert_eq!(c.get(8, 11).map(|v| v.len()), None, "ends after the cache");
    }

    #[test]
    fn evicts_oldest_by_bytes_and_follows_truncate_purge_and_gaps() {
        let mut c = LogCache::new(30);
        for i in 1..=5 {
            c.push(entry(i), 10);
        }
        assert_eq!(indexes(c.get(3, 6)), Some(vec![3, 4, 5]));
        assert!(c.get(2, 4).is_none(), "index 2 was evicted");
        c.truncate_from(5);
        assert!(c.get(5, 6).is_none());
        c.push(entry(5), 10); // re-appended after the truncation
        assert_eq!(indexes(c.get(4, 6)), Some(vec![4, 5]));
        c.purge_through(4);
        assert_eq!(indexes(c.get(5, 6)), Some(vec![5]));
        assert!(c.get(4, 6).is_none());
        c.push(entry(9), 10); // a gap (e.g. after a snapshot install) restarts the run
        assert!(c.get(5, 6).is_none());
        assert_eq!(indexes(c.get(9, 10)), Some(vec![9]));
    }
}
