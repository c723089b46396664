//! The event bus: carries the outbox's events from the Raft leader to every node's gateway
//! (fan-out to local sockets) and to one mobile-push worker per event.
//!
//! - [`nats`]: NATS JetStream (clusters).
//! - [`local`]: an in-process bus with the same delivery semantics (single node, no NATS).
//! - [`relay`]: the leader's outbox relay and the replicated trim.
//!
//! See DESIGN.md for the decisions.

pub mod local;
pub mod nats;
pub mod relay;

use proto::event::Envelope;
use tokio::sync::mpsc;

/// An event for the mobile-push worker, to acknowledge once handled.
pub struct PushJob {
    pub envelope: Envelope,
    pub ack: Acker,
}

pub enum Acker {
    Nats(Box<async_nats::jetstream::Message>),
    Local,
}

impl Acker {
    /// The job is done (sent, or nothing to send).
    pub async fn ack(self) {
        if let Acker::Nats(m) = self {
            if let Err(e) = m.ack().await {
                tracing::warn!(error = %e, "push job ack failed");
            }
        }
    }

    /// Ask for redelivery after `delay` (local jobs are retried by the worker itself).
    pub async fn retry(self, delay: std::time::Duration) {
        if let Acker::Nats(m) = self {
            let kind = async_nats::jetstream::AckKind::Nak(Some(delay));
            if let Err(e) = m.ack_with(kind).await {
                tracing::warn!(error = %e, "push job nak failed");
            }
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum BusError {
    #[error("bus unavailable: {0}")]
    Unavailable(String),
}

/// What the gateway consumes.
pub struct Deliveries {
    /// Every event, once per node, in log order.
    pub fanout: mpsc::Receiver<Envelope>,
    /// Each message-posted event, to exactly one worker in the cluster.
    pub push: mpsc::Receiver<PushJob>,
}

#[derive(Clone)]
pub enum Bus {
    Nats(Box<nats::NatsBus>),
    Local(local::LocalBus),
}

impl Bus {
    /// Publishes events in order; `Ok` once the bus has accepted all of them. On error, a
    /// prefix may have been accepted: the caller publishes the whole batch again (deduplicated).
    pub async fn publish_batch(&self, batch: &[(Envelope, Vec<u8>)]) -> Result<(), BusError> {
        let res = match self {
            Bus::Nats(n) => n.publish_batch(batch).await,
            Bus::Local(l) => {
                for (envelope, _) in batch {
                    l.publish(envelope).await?;
                }
                Ok(())
            }
        };
        if res.is_ok() {
            crate::metrics::BUS_PUBLISHED.inc_by(batch.len() as u64);
        }
        res
    }

    /// `connected`, `disconnected` or `embedded`, for `/readyz`.
    pub fn state(&self) -> &'static str {
        match self {
            Bus::Nats(n) if n.is_connected() => "connected",
            Bus::Nats(_) => "disconnected",
            Bus::Local(_) => "embedded",
        }
    }
}
