//! Keeps the Raft gauges of `metrics` in step with openraft's metrics channel. Raft writes its
//! gauges; nobody reads state back from them.

use super::Raft;
use crate::metrics::RAFT;

/// Keeps the Raft gauges in step with openraft's metrics until the channel closes.
pub async fn watch_raft(raft: Raft) {
    let mut rx = raft.metrics();
    loop {
        {
            let m = rx.borrow_and_update().clone();
            RAFT.with_label_values(&["term"]).set(m.current_term as i64);
            RAFT.with_label_values(&["leader"])
                .set(m.current_leader.map(|l| l as i64).unwrap_or(-1));
            RAFT.with_label_values(&["is_leader"])
                .set(i64::from(m.current_leader == Some(m.id)));
            RAFT.with_label_values(&["last_log_index"])
                .set(m.last_log_index.unwrap_or(0) as i64);
            RAFT.with_label_values(&["applied_index"])
                .set(m.last_applied.map(|l| l.index).unwrap_or(0) as i64);
            RAFT.with_label_values(&["snapshot_index"])
                .set(m.snapshot.map(|l| l.index).unwrap_or(0) as i64);
        }
        if rx.changed().await.is_err() {
            return;
        }
    }
}
