//! NATS JetStream transport. One stream (`CHAT_EVENTS` by default) holds every event under
//! `chat.>`; publication carries `Nats-Msg-Id` = `<group>-<index>-<seq>` so a re-published
//! outbox row is dropped by JetStream's duplicate window.
//!
//! Two consumers per node:
//! - fan-out: an ephemeral consumer of message-posted events published since the node started,
//!   recreated from the last seen stream sequence after any error (NATS restart, reconnect), so
//!   an outage delays notifications but loses none;
//! - mobile push: the shared durable consumer `chat-mobile-push` of `mobilePushRequested`
//!   events, with explicit acks, so each event is handled by exactly one node, and redelivered
//!   (with backoff) if not acked.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use async_nats::jetstream::{self, consumer, stream};
use bytes::Bytes;
use futures::StreamExt;
use proto::event::Envelope;
use tokio::sync::mpsc;

use super::{Acker, BusError, Deliveries, PushJob};
use crate::config::NatsConfig;
use crate::lifecycle::Lifecycle;
use crate::retry::Backoff;

const POSTED_FILTER: &str = "chat.ns.*.room.*.messagePosted";
/// Channel events (the Stream face's), under their own namespace token
/// (`proto::event::CHANNELS_NAMESPACE`).
const CHANNELS_FILTER: &str = "chat.ns.~channels.>";
const PUSH_FILTER: &str = "chat.ns.*.room.*.mobilePushRequested";
const PUSH_CONSUMER: &str = "chat-mobile-push";
/// How far before its start a node's fan-out begins (clock skew between node and NATS).
const FANOUT_LOOKBACK: Duration = Duration::from_secs(5);
/// Longer than any outbox row stays unpublished-but-untrimmed.
const DUPLICATE_WINDOW: Duration = Duration::from_secs(600);
/// Reconnects and consumer re-creations back off from 100 ms to 5 s, with jitter.
const RETRY_FIRST: Duration = Duration::from_millis(100);
const RETRY_MAX: Duration = Duration::from_secs(5);

pub(super) fn consumer_backoff() -> Backoff {
    Backoff::new(RETRY_FIRST, RETRY_MAX)
}

#[derive(Clone)]
pub struct NatsBus {
    js: jetstream::Context,
    /// When this node started: its fan-out starts with the events published since.
    started: time::OffsetDateTime,
    stream: String,
    connected: Arc<AtomicBool>,
}

impl NatsBus {
    /// Connects (retrying in the background if NATS is not up yet) and starts the consumers.
    /// Connects and starts the two consumer loops as tasks of `life`.
    pub async fn start(
        config: &NatsConfig,
        life: &Lifecycle,
    ) -> anyhow::Result<(NatsBus, Deliveries)> {
        let connected = Arc::new(AtomicBool::new(false));
        let flag = connected.clone();
        let mut opts = async_nats::ConnectOptions::new()
            .retry_on_initial_connect()
            .max_reconnects(None)
            .connection_timeout(Duration::from_secs(3))
            .reconnect_delay_callback(|attempts| {
                // async-nats counts the attempts; the helper draws the jittered delay for it.
                consumer_backoff()
                    .after_attempts(attempts)
                    .next_delay()
                    .unwrap_or(RETRY_MAX)
            })
            .event_callback(move |event| {
                let flag = flag.clone();
                async move {
                    match event {
                        async_nats::Event::Connected => {
                            flag.store(true, Ordering::SeqCst);
                            crate::metrics::NATS_CONNECTED.set(1);
                            tracing::info!("nats connected");
                        }
                        async_nats::Event::Disconnected => {
                            flag.store(false, Ordering::SeqCst);
                            crate::metrics::NATS_CONNECTED.set(0);
                            tracing::warn!("nats disconnected");
                        }
                        other => tracing::info!(event = %other, "nats event"),
                    }
                }
            });
        if let Some(t) = &config.token {
            opts = opts.token(t.clone());
        }
        if let (Some(u), Some(p)) = (&config.user, &config.password) {
            opts = opts.user_and_password(u.clone(), p.clone());
        }
        if let Some(c) = &config.creds {
            opts = opts.credentials_file(c).await?;
        }
        if config.tls {
            opts = opts.require_tls(true);
        }
        if let Some(ca) = &config.ca {
            opts = opts.add_root_certificates(ca.clone());
        }
        let urls: Vec<async_nats::ServerAddr> = config
            .url
            .iter()
            .map(|u| u.parse())
            .collect::<Result<_, _>>()?;
        let client = opts.connect(urls).await?;
        let js = jetstream::new(client);
        let bus = NatsBus {
            started: time::OffsetDateTime::now_utc(),
            js,
            stream: config.stream.clone(),
            connected,
        };
        let (fanout_tx, fanout) = mpsc::channel(4096);
        let (push_tx, push) = mpsc::channel(256);
        life.spawn_until("nats-fanout", bus.clone().fanout_loop(fanout_tx));
        life.spawn_until("nats-push", bus.clone().push_loop(push_tx));
        Ok((bus, Deliveries { fanout, push }))
    }

    pub fn is_connected(&self) -> bool {
        self.connected.load(Ordering::SeqCst)
    }

    async fn ensure_stream(&self) -> Result<stream::Stream, BusError> {
        self.js
            .get_or_create_stream(stream::Config {
                name: self.stream.clone(),
                subjects: vec!["chat.>".into()],
                duplicate_window: DUPLICATE_WINDOW,
                max_age: Duration::from_secs(24 * 3600),
                storage: stream::StorageType::File,
                ..Default::default()
            })
            .await
            .map_err(|e| BusError::Unavailable(e.to_string()))
    }

    /// Publishes a batch with every publish in flight at once, then waits for the acks in order:
    /// one round trip per batch instead of one per event.
    pub async fn publish_batch(&self, batch: &[(Envelope, Vec<u8>)]) -> Result<(), BusError> {
        let mut acks = Vec::with_capacity(batch.len());
        for (envelope, json) in batch {
            let publish = jetstream::context::Publish::build()
                .payload(Bytes::from(json.clone()))
                .message_id(&envelope.id);
            match self.js.send_publish(envelope.subject(), publish).await {
                Ok(ack) => acks.push(ack),
                Err(e) => {
                    self.ensure_stream().await?;
                    return Err(BusError::Unavailable(e.to_string()));
                }
            }
        }
        for ack in acks {
            if let Err(e) = ack.await {
                self.ensure_stream().await?;
                return Err(BusError::Unavailable(e.to_string()));
            }
        }
        Ok(())
    }

    async fn fanout_loop(self, tx: mpsc::Sender<Envelope>) {
        let mut next_seq: Option<u64> = None;
        let mut backoff = consumer_backoff();
        loop {
            match self.fanout_once(&tx, &mut next_seq).await {
                Ok(()) => return, // receiver gone: node shutting down
                Err(e) => {
                    tracing::warn!(error = %e, "nats fan-out consumer failed; recreating");
                    backoff.wait().await;
                }
            }
        }
    }

    async fn fanout_once(
        &self,
        tx: &mpsc::Sender<Envelope>,
        next_seq: &mut Option<u64>,
    ) -> Result<(), BusError> {
        let err = |e: String| BusError::Unavailable(e);
        let stream = self.ensure_stream().await?;
        // First time: every event published since this node started (a little before, for
        // clock skew), however late the connection to NATS came; afterwards: from the next
        // sequence not yet handled.
        let deliver_policy = match *next_seq {
            Some(start_sequence) => consumer::DeliverPolicy::ByStartSequence { start_sequence },
            None => consumer::DeliverPolicy::ByStartTime {
                start_time: self.started - FANOUT_LOOKBACK,
            },
        };
        let consumer: consumer::PullConsumer = stream
            .create_consumer(consumer::pull::Config {
                filter_subjects: vec![POSTED_FILTER.into(), CHANNELS_FILTER.into()],
                deliver_policy,
                ack_policy: consumer::AckPolicy::None,
                inactive_threshold: Duration::from_secs(60),
                ..Default::default()
            })
            .await
            .map_err(|e| err(e.to_string()))?;
        let mut messages = pull(&consumer).await?;
        while let Some(msg) = messages.next().await {
            let msg = msg.map_err(|e| err(e.to_string()))?;
            let seq = msg.info().map(|i| i.stream_sequence).unwrap_or(0);
            match serde_json::from_slice::<Envelope>(&msg.payload) {
                Ok(env) => {
                    if tx.send(env).await.is_err() {
                        return Ok(());
                    }
                }
                Err(e) => tracing::warn!(error = %e, seq, "undecodable event skipped"),
            }
            *next_seq = Some(seq + 1);
        }
        Err(err("consumer stream ended".into()))
    }

    async fn push_loop(self, tx: mpsc::Sender<PushJob>) {
        let mut backoff = consumer_backoff();
        loop {
            match self.push_once(&tx).await {
                Ok(()) => return,
                Err(e) => {
                    tracing::warn!(error = %e, "nats push consumer failed; recreating");
                    backoff.wait().await;
                }
            }
        }
    }

    async fn push_once(&self, tx: &mpsc::Sender<PushJob>) -> Result<(), BusError> {
        let err = |e: String| BusError::Unavailable(e);
        let stream = self.ensure_stream().await?;
        let config = consumer::pull::Config {
            durable_name: Some(PUSH_CONSUMER.into()),
            filter_subject: PUSH_FILTER.into(),
            ack_policy: consumer::AckPolicy::Explicit,
            ack_wait: Duration::from_secs(30),
            max_deliver: 10,
            deliver_policy: consumer::DeliverPolicy::New,
            ..Default::default()
        };
        let mut consumer: consumer::PullConsumer = stream
            .get_or_create_consumer(PUSH_CONSUMER, config.clone())
            .await
            .map_err(|e| err(e.to_string()))?;
        // Consumers created by earlier versions filter `messagePosted`: move them over.
        if consumer.cached_info().config.filter_subject != PUSH_FILTER {
            consumer = stream
                .update_consumer(config)
                .await
                .map_err(|e| err(e.to_string()))?;
        }
        let mut messages = pull(&consumer).await?;
        while let Some(msg) = messages.next().await {
            let msg = msg.map_err(|e| err(e.to_string()))?;
            match serde_json::from_slice::<Envelope>(&msg.payload) {
                Ok(envelope) => {
                    let job = PushJob {
                        envelope,
                        ack: Acker::Nats(Box::new(msg)),
                    };
                    if tx.send(job).await.is_err() {
                        return Ok(());
                    }
                }
                Err(e) => {
                    tracing::warn!(error = %e, "undecodable push event dropped");
                    let _ = msg.ack().await;
                }
            }
        }
        Err(err("consumer stream ended".into()))
    }
}

/// The consumer's messages, pulled in batches, with heartbeats so that a dead connection ends
/// the stream.
async fn pull(consumer: &consumer::PullConsumer) -> Result<consumer::pull::Stream, BusError> {
    consumer
        .stream()
        .heartbeat(Duration::from_secs(2))
        .expires(Duration::from_secs(10))
        .messages()
        .await
        .map_err(|e| BusError::Unavailable(e.to_string()))
}
