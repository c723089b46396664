//! Makes appended log entries durable off Raft's core task.
//!
//! `append` writes entries to the WAL without syncing (they are readable at once) and hands
//! openraft's completion callback to this thread, which syncs the WAL once for every callback
//! waiting and then completes them in order. The core task never blocks on `fdatasync`: it
//! replicates the entries to followers while the leader's own disk syncs them, and appends
//! arriving during a sync share the next one.

use std::sync::mpsc;

use openraft::storage::LogFlushed;

use super::db::Store;
use crate::raft_types::TypeConfig;

pub struct WalSync {
    tx: mpsc::Sender<LogFlushed<TypeConfig>>,
}

impl WalSync {
    /// Starts the syncing thread; it ends when the last handle is dropped.
    pub fn start(store: Store) -> std::io::Result<WalSync> {
        let (tx, rx) = mpsc::channel::<LogFlushed<TypeConfig>>();
        std::thread::Builder::new()
            .name("wal-sync".into())
            .spawn(move || {
                while let Ok(first) = rx.recv() {
                    let mut waiting = vec![first];
                    waiting.extend(rx.try_iter());
                    let res = store.db.flush_wal(true);
                    for callback in waiting {
                        callback.log_io_completed(match &res {
                            Ok(()) => Ok(()),
                            Err(e) => Err(std::io::Error::other(e.to_string())),
                        });
                    }
                }
            })?;
        Ok(WalSync { tx })
    }

    /// Completes `callback` once everything written to the WAL before this call is on disk.
    pub fn after_sync(&self, callback: LogFlushed<TypeConfig>) {
        if let Err(mpsc::SendError(callback)) = self.tx.send(callback) {
            callback.log_io_completed(Err(std::io::Error::other("WAL sync thread stopped")));
        }
    }
}
