//! The outbox relay. Runs on every node and acts only while the node leads: it reads outbox
//! rows from the local (applied) state in log order, publishes each with its stable id, and
//! from time to time proposes a `TrimOutbox` entry so every replica drops what was published.
//!
//! A new leader starts from the first untrimmed row, so rows the old leader published but did
//! not trim are published again and dropped by the bus's deduplication; rows it never published
//! are published now. A bus outage only delays publication (the rows wait in the outbox).

use std::time::{Duration, Instant};

use proto::command::Command;
use proto::event::Envelope;
use tokio_util::sync::CancellationToken;

use super::nats::consumer_backoff;
use super::Bus;
use crate::raft::cluster::Cluster;
use crate::storage::View;

const BATCH: usize = 256;

/// Why the relay gave up: a fatal error for the node (see `lifecycle.rs`).
#[derive(Debug, thiserror::Error)]
pub enum RelayError {
    /// An outbox row that does not decode: skipping it would lose an event, so the node stops.
    #[error("undecodable outbox row at index {index} seq {seq}: {source}")]
    Undecodable {
        index: u64,
        seq: u32,
        source: serde_json::Error,
    },
}
const TRIM_EVERY: Duration = Duration::from_millis(500);

/// Relays until `stop` is cancelled; an error is fatal for the node.
pub async fn run(
    cluster: Cluster,
    view: View,
    bus: Bus,
    stop: CancellationToken,
) -> Result<(), RelayError> {
    let mut metrics = cluster.raft().metrics();
    loop {
        if stop.is_cancelled() {
            return Ok(());
        }
        if cluster.is_leader() {
            tokio::select! {
                r = lead(&cluster, &view, &bus) => r?,
                _ = stop.cancelled() => return Ok(()),
            }
        }
        tokio::select! {
            _ = metrics.changed() => {}
            _ = stop.cancelled() => {}
            _ = tokio::time::sleep(Duration::from_millis(200)) => {}
        }
    }
}

/// Relays while this node leads.
async fn lead(cluster: &Cluster, view: &View, bus: &Bus) -> Result<(), RelayError> {
    tracing::info!("outbox relay active");
    let mut cursor: Option<(u64, u32)> = None;
    let mut published_through: Option<u64> = None;
    let mut trimmed_through: Option<u64> = None;
    let mut last_trim = Instant::now();
    let mut applied = cluster.raft().metrics();
    let mut backoff = consumer_backoff();
    // The applied index at the last read: metrics also change on every replication ack and
    // heartbeat, and only a new applied entry can add outbox rows.
    let mut read_at_applied: Option<u64>;
    while cluster.is_leader() {
        read_at_applied = applied.borrow().last_applied.map(|l| l.index);
        let rows = match view.outbox_after(cursor, BATCH) {
            Ok(rows) => rows,
            Err(e) => {
                tracing::error!(error = %e, "outbox read failed");
                backoff.wait().await;
                continue;
            }
        };
        let caught_up = rows.len() < BATCH;
        let mut batch = Vec::with_capacity(rows.len());
        let mut last_row = cursor;
        for (index, seq, json) in rows {
            last_row = Some((index, seq));
            match serde_json::from_slice::<Envelope>(&json) {
                Ok(envelope) => batch.push((envelope, json)),
                Err(source) => return Err(RelayError::Undecodable { index, seq, source }),
            }
        }
        loop {
            match bus.publish_batch(&batch).await {
                Ok(()) => {
                    if let (Some((first, _)), Some((last, _))) = (batch.first(), batch.last()) {
                        tracing::debug!(first = %first.id, last = %last.id, "events published");
                    }
                    backoff.reset();
                    break;
                }
                Err(e) => {
                    tracing::warn!(events = batch.len(), error = %e, "publish failed; retrying");
                    if !cluster.is_leader() {
                        return Ok(());
                    }
                    backoff.wait().await;
                }
            }
        }
        // Indexes before the last row's are fully published; the last one may continue in the
        // next batch (several events per entry).
        if let Some((last_index, _)) = last_row {
            if last_index > 0 && cursor.is_none_or(|(i, _)| i < last_index) {
                published_through = Some(last_index - 1).max(published_through);
            }
        }
        cursor = last_row;
        if caught_up {
            published_through = cursor.map(|(i, _)| i).or(published_through);
        }
        let trim_due = published_through > trimmed_through && last_trim.elapsed() >= TRIM_EVERY;
        if let (true, Some(upto)) = (trim_due, published_through) {
            last_trim = Instant::now();
            match cluster
                .write(
                    Command::TrimOutbox {
                        upto_index: upto,
                        from_index: trimmed_through.map_or(0, |t| t + 1),
                    },
                    None,
                )
                .await
            {
                Ok(_) => trimmed_through = Some(upto),
                Err(e) => tracing::warn!(error = %e, "outbox trim failed"),
            }
        }
        if caught_up {
            let deadline = tokio::time::sleep(TRIM_EVERY);
            tokio::pin!(deadline);
            loop {
                tokio::select! {
                    _ = applied.changed() => {
                        if applied.borrow().last_applied.map(|l| l.index) != read_at_applied {
                            break;
                        }
                    }
                    _ = &mut deadline => break,
                }
            }
        }
    }
    tracing::info!("outbox relay paused: not the leader");
    Ok(())
}
