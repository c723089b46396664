//! Which of this node's WebSocket connections watch which channel: set by `watch: true` on a
//! channel query (with the `connection_id` the JS client adds), read by the event delivery.
//! In memory, per node: a connection lives on one node, and a reconnecting client queries its
//! channels again (`stream-protocol.md` §5.4). Connections that closed are dropped when seen.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Mutex;

#[derive(Default)]
pub struct Watches {
    by_cid: Mutex<BTreeMap<String, BTreeSet<String>>>,
}

impl Watches {
    pub fn watch(&self, cid: &str, connection: &str) {
        self.lock()
            .entry(cid.to_string())
            .or_default()
            .insert(connection.to_string());
    }

    pub fn stop(&self, cid: &str, connection: &str) {
        let mut m = self.lock();
        if let Some(set) = m.get_mut(cid) {
            set.remove(connection);
            if set.is_empty() {
                m.remove(cid);
            }
        }
    }

    /// The connections watching `cid`, keeping only those `alive` accepts (the others are
    /// forgotten).
    pub fn watchers(&self, cid: &str, alive: impl Fn(&str) -> bool) -> Vec<String> {
        let mut m = self.lock();
        let Some(set) = m.get_mut(cid) else {
            return Vec::new();
        };
        set.retain(|c| alive(c));
        let out: Vec<String> = set.iter().cloned().collect();
        if set.is_empty() {
            m.remove(cid);
        }
        out
    }

    /// Every watched channel on this node with its live watchers.
    pub fn all(&self, alive: impl Fn(&str) -> bool) -> Vec<(String, Vec<String>)> {
        let mut m = self.lock();
        m.retain(|_, set| {
            set.retain(|c| alive(c));
            !set.is_empty()
        });
        m.iter()
            .map(|(cid, set)| (cid.clone(), set.iter().cloned().collect()))
            .collect()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<String, BTreeSet<String>>> {
        self.by_cid.lock().expect("watches lock")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn watchers_are_kept_per_channel_and_dead_connections_dropped() {
        let w = Watches::default();
        w.watch("messaging:a", "c1");
        w.watch("messaging:a", "c2");
        w.watch("messaging:b", "c1");
        assert_eq!(w.watchers("messaging:a", |_| true), ["c1", "c2"]);
        assert_eq!(w.watchers("messaging:a", |c| c != "c1"), ["c2"]);
        assert_eq!(w.watchers("messaging:a", |_| true), ["c2"]);
        w.stop("messaging:b", "c1");
        assert!(w.watchers("messaging:b", |_| true).is_empty());
    }
}
