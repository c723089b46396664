//! What the failover watchdog ([`super::failover`]) knows of the current leader: the lease it
//! waits out, when its last append arrived, and whether a watchdog runs. The cluster handle owns
//! one; the Raft port's listener notes every append in it.

use std::sync::atomic::AtomicBool;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use super::NodeId;

/// Per-node watchdog state, owned by the cluster handle.
pub struct LeaderWatch {
    /// The leader lease of openraft: the maximum election timeout.
    pub(super) lease: Duration,
    last_append: Mutex<Option<(NodeId, Instant)>>,
    /// Set while a watchdog runs (see `failover`).
    pub(super) running: AtomicBool,
}

impl LeaderWatch {
    pub fn new(lease: Duration) -> Self {
        LeaderWatch {
            lease,
            last_append: Mutex::new(None),
            running: AtomicBool::new(false),
        }
    }

    /// Called for every append received from a leader.
    pub fn note_append(&self, leader: NodeId) {
        *self.last_append.lock().expect("watch lock") = Some((leader, Instant::now()));
    }

    pub(super) fn last_append_from(&self, leader: NodeId) -> Option<Instant> {
        match *self.last_append.lock().expect("watch lock") {
            Some((l, at)) if l == leader => Some(at),
            _ => None,
        }
    }
}
