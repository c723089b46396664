//! The in-process bus of a single node without NATS: the relay's publish hands each event to
//! the local fan-out, and each mobile-push request to the local push worker, in order, with the same at-least-once and
//! dedup-by-index semantics as JetStream.

use proto::event::{Envelope, Event};
use tokio::sync::mpsc;

use super::{Acker, BusError, Deliveries, PushJob};

#[derive(Clone)]
pub struct LocalBus {
    fanout: mpsc::Sender<Envelope>,
    push: mpsc::Sender<PushJob>,
}

impl LocalBus {
    pub fn new() -> (LocalBus, Deliveries) {
        let (fanout_tx, fanout) = mpsc::channel(4096);
        let (push_tx, push) = mpsc::channel(4096);
        (
            LocalBus {
                fanout: fanout_tx,
                push: push_tx,
            },
            Deliveries { fanout, push },
        )
    }

    pub async fn publish(&self, envelope: &Envelope) -> Result<(), BusError> {
        let closed = |_| BusError::Unavailable("local bus closed".into());
        self.fanout.send(envelope.clone()).await.map_err(closed)?;
        if matches!(envelope.event, Event::MobilePushRequested { .. }) {
            self.push
                .send(PushJob {
                    envelope: envelope.clone(),
                    ack: Acker::Local,
                })
                .await
                .map_err(|_| BusError::Unavailable("local bus closed".into()))?;
        }
        Ok(())
    }
}
