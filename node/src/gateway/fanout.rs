//! Fan-out: each node receives every post event once and writes the notification frame to its
//! own sessions whose user subscribes to the room with a matching category. One bus message per
//! node per post, never one per recipient.

use std::sync::Arc;
use std::time::Duration;

use futures::future::BoxFuture;
use proto::event::{Envelope, Event};
use proto::gs2::gateway::{Notification, PostNotification, CHAT_POST_ISSUER};
use tokio::sync::mpsc;

use super::sessions::Registry;
use super::{push_target, selects};
use crate::raft::cluster::Cluster;
use crate::storage::View;

const APPLY_WAIT: Duration = Duration::from_secs(5);

/// A face's own delivery of events (its frames, its sockets): called for every event after the
/// GS2 fan-out, in log order, once per node. The engine knows no face: faces register here.
pub trait EventSink: Send + Sync {
    fn deliver<'a>(&'a self, env: &'a Envelope) -> BoxFuture<'a, ()>;
}

pub async fn run(
    cluster: Cluster,
    view: View,
    registry: Arc<Registry>,
    sinks: Vec<Arc<dyn EventSink>>,
    mut rx: mpsc::Receiver<Envelope>,
) {
    let mut last: Option<(u64, u32)> = None;
    while let Some(env) = rx.recv().await {
        tracing::debug!(event = %env.id, "event received");
        // The bus delivers in log order; anything not after the last event is a redelivery.
        if last.is_some_and(|l| (env.index, env.seq) <= l) {
            continue;
        }
        last = Some((env.index, env.seq));
        if let Err(e) = deliver(&cluster, &view, &registry, &env).await {
            tracing::warn!(event = %env.id, error = %e, "fan-out failed");
        }
        for sink in &sinks {
            sink.deliver(&env).await;
        }
    }
}

/// The notification frame of a post (reference §7.4, §10).
pub fn post_notification(env: &Envelope) -> Option<Notification> {
    let post = env.event.post()?;
    let payload = PostNotification {
        namespace_name: env.namespace_name.clone(),
        room_name: env.room_name.clone().unwrap_or_default(),
        user_id: post.user_id.to_string(),
        category: post.category,
        created_at: post.created_at,
    };
    Some(Notification {
        issuer: CHAT_POST_ISSUER.into(),
        subject: CHAT_POST_ISSUER.into(),
        payload: serde_json::to_string(&payload).expect("payload encodes"),
        mobile: None,
    })
}

async fn deliver(
    cluster: &Cluster,
    view: &View,
    registry: &Registry,
    env: &Envelope,
) -> Result<(), crate::storage::ViewError> {
    let Event::MessagePosted { category, .. } = &env.event else {
        return Ok(());
    };
    let Some(room) = env.room_name.as_deref() else {
        return Ok(());
    };
    if registry.no_bound_users() {
        return Ok(());
    }
    // Subscriptions are read from the local replica: wait until it has applied the post.
    let _ = cluster
        .raft()
        .wait(Some(APPLY_WAIT))
        .applied_index_at_least(Some(env.index), "fan-out")
        .await;
    let Some(ns) = view.namespace(&env.namespace_name)? else {
        return Ok(());
    };
    let Some(gateway_ns) = push_target(&ns) else {
        return Ok(());
    };
    let local_users = registry.user_count(&gateway_ns);
    tracing::debug!(event = %env.id, gateway_ns, local_users, "fan-out");
    if local_users == 0 {
        return Ok(());
    }
    let frame = post_notification(env)
        .expect("a post event")
        .frame()
        .to_string();
    let started = std::time::Instant::now();
    // Read whichever side is smaller: the room's subscribers (one prefix scan, stopped once it
    // holds more rows than there are local users) or one lookup per local user.
    match view.room_subscribers_up_to(&env.namespace_name, room, local_users)? {
        Some(subs) => {
            for sub in subs {
                if selects(&sub.notification_types, *category)
                    && registry.has_user(&gateway_ns, &sub.user_id)
                {
                    registry
                        .send_to_user(&gateway_ns, &sub.user_id, &frame)
                        .await;
                }
            }
        }
        None => {
            for user in registry.users(&gateway_ns) {
                if let Some(sub) = view.subscribe(&env.namespace_name, room, &user)? {
                    if selects(&sub.notification_types, *category) {
                        registry.send_to_user(&gateway_ns, &user, &frame).await;
                    }
                }
            }
        }
    }
    crate::metrics::FANOUT_SECONDS.observe(started.elapsed().as_secs_f64());
    Ok(())
}
