//! The leader's proposer: batches the writes proposed on this node into one log entry each
//! (group commit), stamps their clock, and hands every waiter its own reply. Owns only the
//! local proposal path and knows nothing of the cluster handle; finding the leader, forwarding
//! to it and refusing writes during a transfer are in [`super::forward`].

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;

use openraft::error::ClientWriteError;
use proto::command::{LogEntry, Reply};
use tokio::sync::{mpsc, oneshot, Semaphore};

use super::rpc::ForwardError;
use super::{Node, NodeId, Raft};
use crate::clock::now_ms;
use crate::lifecycle::Lifecycle;

/// One write waiting for the proposer, with where to send its reply.
struct Proposal {
    entry: LogEntry,
    tx: oneshot::Sender<Result<(Reply, u64), ForwardError>>,
}

/// Most writes in one log entry.
const MAX_BATCH: usize = 1024;
/// Batches proposed but not yet applied; more writes wait and join the next batch.
const MAX_IN_FLIGHT: usize = 2;

fn map_write_error(e: ClientWriteError<NodeId, Node>) -> ForwardError {
    match e {
        ClientWriteError::ForwardToLeader(f) => ForwardError::NotLeader {
            leader: f.leader_id,
        },
        ClientWriteError::ChangeMembershipError(e) => ForwardError::Failed(e.to_string()),
    }
}

/// The leader's proposer: takes every write waiting, stamps their clock (monotonic in log
/// order), proposes them as one entry, and hands each waiter its own reply.
async fn run_proposer(
    raft: Raft,
    last_stamp: Arc<AtomicI64>,
    mut rx: mpsc::Receiver<Proposal>,
    life: Lifecycle,
) {
    let in_flight = Arc::new(Semaphore::new(MAX_IN_FLIGHT));
    while let Some(first) = rx.recv().await {
        let Ok(permit) = in_flight.clone().acquire_owned().await else {
            return;
        };
        let mut batch = vec![first];
        while batch.len() < MAX_BATCH {
            match rx.try_recv() {
                Ok(p) => batch.push(p),
                Err(_) => break,
            }
        }
        let now = now_ms();
        let stamp = last_stamp.fetch_max(now, Ordering::SeqCst).max(now);
        let mut parts = Vec::with_capacity(batch.len());
        let mut waiters = Vec::with_capacity(batch.len());
        for p in batch {
            let mut entry = p.entry;
            for part in entry.parts_mut() {
                part.meta.now_ms = stamp;
            }
            parts.extend(entry.parts().iter().cloned());
            waiters.push(p.tx);
        }
        let entry = if parts.len() == 1 {
            LogEntry::V1(Box::new(parts.pop().expect("one part")))
        } else {
            LogEntry::Batch(parts)
        };
        // Enqueue in order here; wait for the outcome in a task.
        let responder = raft.client_write_ff(entry).await;
        life.track(async move {
            let _permit = permit;
            let result = match responder {
                Err(fatal) => Err(ForwardError::Failed(fatal.to_string())),
                Ok(rx) => match rx.await {
                    Err(_) => Err(ForwardError::Failed("raft dropped the write".into())),
                    Ok(Err(e)) => Err(map_write_error(e)),
                    Ok(Ok(resp)) => Ok((resp.data, resp.log_id.index)),
                },
            };
            match result {
                Ok((Reply::Many(replies), index)) if replies.len() == waiters.len() => {
                    for (tx, reply) in waiters.into_iter().zip(replies) {
                        let _ = tx.send(Ok((reply, index)));
                    }
                }
                Ok((reply, index)) if waiters.len() == 1 => {
                    let _ = waiters
                        .into_iter()
                        .next()
                        .map(|tx| tx.send(Ok((reply, index))));
                }
                Ok((other, _)) => {
                    let e = ForwardError::Failed(format!("unexpected batch reply {other:?}"));
                    for tx in waiters {
                        let _ = tx.send(Err(e.clone()));
                    }
                }
                Err(e) => {
                    for tx in waiters {
                        let _ = tx.send(Err(e.clone()));
                    }
                }
            }
        });
    }
}

/// The handle of the proposer task: where this node's leader-side writes queue.
pub(super) struct Proposer {
    tx: mpsc::Sender<Proposal>,
}

impl Proposer {
    /// Starts the proposer as a task of `life` (inside a tokio runtime); it stops with the node.
    pub(super) fn spawn(raft: Raft, life: &Lifecycle) -> Self {
        let (tx, rx) = mpsc::channel(8 * MAX_BATCH);
        let last_stamp = Arc::new(AtomicI64::new(0));
        life.spawn_until("proposer", run_proposer(raft, last_stamp, rx, life.clone()));
        Proposer { tx }
    }

    /// Proposes `entry` with whatever else is waiting (group commit: one append, one fsync, one
    /// apply batch; see [`run_proposer`]) and returns its reply and log index once applied.
    pub(super) async fn propose(&self, entry: LogEntry) -> Result<(Reply, u64), ForwardError> {
        let (tx, rx) = oneshot::channel();
        self.tx
            .send(Proposal { entry, tx })
            .await
            .map_err(|_| ForwardError::Failed("proposer stopped".into()))?;
        rx.await
            .unwrap_or_else(|_| Err(ForwardError::Failed("proposer stopped".into())))
    }
}
