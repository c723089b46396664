//! Direct mobile pushes that a face asks for (GS2's `sendNotification` to an offline user and
//! `sendMobileNotificationByUserId`). [`Gateway::push_to_mobile`] checks, synchronously, that the
//! user can be reached (a gateway namespace with firebase settings, a firebase token) and queues
//! the push on a bounded queue; one worker ([`run`]) sends it with the same retry loop as post
//! pushes (`push::send_with_retries`). A request handler therefore never waits on FCM or its
//! backoff; a full queue is refused ([`MobileError::QueueFull`]), never grown.
//!
//! Not here: which API asked, its error body (the face maps [`MobileError`]); the per-post push
//! worker (`push.rs`).

use std::sync::Arc;

use proto::gs2::gateway::Notification;
use tokio::sync::mpsc;

use super::fcm::Target;
use super::push::send_with_retries;
use super::Gateway;
use crate::storage::{View, ViewError};

/// Direct pushes waiting for the worker; beyond this the request is refused.
pub const QUEUE: usize = 1024;

#[derive(Debug, thiserror::Error)]
pub enum MobileError {
    #[error("no such gateway namespace")]
    NoNamespace,
    #[error("the user has no firebase token")]
    NoToken,
    #[error("the gateway namespace has no firebase settings")]
    NotConfigured,
    #[error("mobile push queue full")]
    QueueFull,
    #[error(transparent)]
    Read(#[from] ViewError),
}

/// One queued push: where to (owned, so it outlives the request) and what.
pub struct DirectPush {
    project_id: String,
    secret: String,
    token: String,
    locale: Option<String>,
    notification: Notification,
}

/// The queue between [`Gateway::push_to_mobile`] and [`run`].
pub fn queue() -> (mpsc::Sender<DirectPush>, mpsc::Receiver<DirectPush>) {
    mpsc::channel(QUEUE)
}

impl Gateway {
    /// Queues a push of `notification` to `user`'s firebase token in gateway namespace
    /// `namespace`, read from `view` (the caller chooses its read consistency).
    pub fn push_to_mobile(
        &self,
        view: &View,
        namespace: &str,
        user: &str,
        notification: Notification,
    ) -> Result<(), MobileError> {
        let gw = view
            .gateway_namespace(namespace)?
            .ok_or(MobileError::NoNamespace)?;
        let token = view
            .firebase_token(namespace, user)?
            .ok_or(MobileError::NoToken)?;
        let (Some(project_id), Some(secret)) =
            (gw.settings.firebase_project_id, gw.settings.firebase_secret)
        else {
            return Err(MobileError::NotConfigured);
        };
        let push = DirectPush {
            project_id,
            secret,
            token: token.token,
            locale: token.locale,
            notification,
        };
        self.mobile
            .try_send(push)
            .map_err(|_| MobileError::QueueFull)
    }
}

/// Sends the queued direct pushes, one at a time, each with the post pushes' retries.
pub async fn run(gateway: Arc<Gateway>, mut rx: mpsc::Receiver<DirectPush>) {
    while let Some(p) = rx.recv().await {
        let target = Target {
            project_id: &p.project_id,
            secret: &p.secret,
            token: &p.token,
            locale: p.locale.as_deref(),
        };
        if let Err(e) = send_with_retries(&gateway, &target, &p.notification).await {
            tracing::warn!(error = %e, "direct mobile push failed");
        }
    }
}
