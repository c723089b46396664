//! The mobile-push worker. Each `mobilePushRequested` event (emitted by apply beside a post when
//! its namespace forwards posts to mobiles) reaches exactly one worker in the cluster (a NATS
//! durable consumer shared by all nodes; the local bus on a single node). When the chat
//! namespace's `postNotification.enableTransferMobileNotification` is on, the worker finds the
//! room's subscribers whose matching notification type forwards to mobile, keeps those with no
//! live session anywhere in the cluster, and sends each an FCM push through the gateway
//! namespace's firebase settings. Failures are retried with backoff, then handed back to the
//! bus for redelivery; users already reached are not pushed twice by this worker.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use proto::gs2::gateway::MobilePush;
use tokio::sync::mpsc;

use super::fanout::post_notification;
use super::fcm::{FcmError, Target};
use super::{push_target, Gateway};
use crate::bus::PushJob;
use crate::retry::Backoff;
use crate::storage::View;

/// FCM sends per push before the event goes back to the bus, and the backoff between them.
const ATTEMPTS: usize = 3;
const RETRY_FIRST: Duration = Duration::from_millis(250);
const RETRY_MAX: Duration = Duration::from_secs(3);
const REDELIVERY_DELAY: Duration = Duration::from_secs(15);

pub async fn run(gateway: Arc<Gateway>, view: View, mut rx: mpsc::Receiver<PushJob>) {
    // Users reached per event, kept until the event is acknowledged.
    let mut reached: HashMap<String, HashSet<String>> = HashMap::new();
    while let Some(job) = rx.recv().await {
        let id = job.envelope.id.clone();
        let done = reached.entry(id.clone()).or_default();
        match handle(&gateway, &view, &job, done).await {
            Ok(()) => {
                reached.remove(&id);
                job.ack.ack().await;
            }
            Err(e) => {
                tracing::warn!(event = %id, error = %e, "mobile push failed; redelivery requested");
                if reached.len() > 10_000 {
                    reached.clear();
                }
                job.ack.retry(REDELIVERY_DELAY).await;
            }
        }
    }
}

async fn handle(
    gateway: &Gateway,
    view: &View,
    job: &PushJob,
    reached: &mut HashSet<String>,
) -> Result<(), FcmError> {
    let env = &job.envelope;
    // `mobilePushRequested`; `messagePosted` too, as consumers created before that event
    // existed deliver it (the namespace setting is checked below either way).
    let Some(post) = env.event.post() else {
        return Ok(());
    };
    let category = &post.category;
    let Some(room) = env.room_name.as_deref() else {
        return Ok(());
    };
    let _ = gateway
        .cluster
        .raft()
        .wait(Some(Duration::from_secs(5)))
        .applied_index_at_least(Some(env.index), "push")
        .await;
    let read = |e: crate::storage::ViewError| FcmError::Transport(e.to_string());
    let Some(ns) = view.namespace(&env.namespace_name).map_err(read)? else {
        return Ok(());
    };
    let Some(gateway_ns) = push_target(&ns) else {
        return Ok(());
    };
    // The namespace decides whether posts are forwarded to mobiles at all (default: no).
    let Some(setting) = ns
        .settings
        .post_notification
        .as_ref()
        .filter(|n| n.enable_transfer_mobile_notification == Some(true))
    else {
        return Ok(());
    };
    let mobile = MobilePush {
        sound: setting.sound.clone(),
        messages: setting
            .mobile_notification_messages
            .clone()
            .unwrap_or_default(),
    };
    let candidates: Vec<String> = view
        .room_subscribers(&env.namespace_name, room)
        .map_err(read)?
        .into_iter()
        .filter(|s| {
            s.notification_types.iter().any(|t| {
                t.category.unwrap_or(0) == *category
                    && t.enable_transfer_mobile_push_notification == Some(true)
            })
        })
        .map(|s| s.user_id)
        .filter(|u| !reached.contains(u))
        .collect();
    if candidates.is_empty() {
        return Ok(());
    }
    let Some(gw) = view.gateway_namespace(&gateway_ns).map_err(read)? else {
        return Ok(());
    };
    let (Some(project), Some(secret)) = (
        gw.settings.firebase_project_id.as_deref(),
        gw.settings.firebase_secret.as_deref(),
    ) else {
        return Ok(());
    };
    let online = gateway.online(&gateway_ns, candidates.clone()).await;
    let mut notification = post_notification(env).expect("a post event");
    notification.mobile = Some(mobile);
    let mut failure = None;
    for user in candidates.into_iter().filter(|u| !online.contains(u)) {
        let Some(token) = view.firebase_token(&gateway_ns, &user).map_err(read)? else {
            continue;
        };
        let target = Target {
            project_id: project,
            secret,
            token: &token.token,
            locale: token.locale.as_deref(),
        };
        match send_with_retries(gateway, &target, &notification).await {
            Ok(()) => {
                reached.insert(user);
            }
            Err(e) if e.retriable() => failure = Some(e),
            Err(e) => tracing::warn!(user, error = %e, "mobile push refused; not retried"),
        }
    }
    match failure {
        Some(e) => Err(e),
        None => Ok(()),
    }
}

/// Sends one push, retrying retriable failures with backoff.
pub async fn send_with_retries(
    gateway: &Gateway,
    target: &Target<'_>,
    notification: &proto::gs2::gateway::Notification,
) -> Result<(), FcmError> {
    let mut backoff = Backoff::new(RETRY_FIRST, RETRY_MAX);
    let mut attempt = 1;
    loop {
        match gateway.fcm.send(target, notification).await {
            Ok(()) => return Ok(()),
            Err(e) if e.retriable() && attempt < ATTEMPTS => {
                attempt += 1;
                backoff.wait().await;
            }
            Err(e) => return Err(e),
        }
    }
}
