//! Firebase Cloud Messaging (HTTP v1) client. The endpoint is configurable so tests point it
//! at a local recorder. The namespace's `firebaseSecret` is sent as the bearer credential (an
//! OAuth2 access token for the Firebase project).

use std::time::Duration;

use proto::gs2::gateway::Notification;
use proto::gs2::models::MobileNotificationMessage;
use serde_json::json;

use crate::metrics;

#[derive(Debug, thiserror::Error)]
pub enum FcmError {
    #[error("fcm request failed: {0}")]
    Transport(String),
    #[error("fcm answered {status}: {body}")]
    Status { status: u16, body: String },
    #[error("gateway namespace has no firebase settings")]
    NotConfigured,
}

impl FcmError {
    /// Whether a retry may succeed (network trouble, throttling, server errors).
    pub fn retriable(&self) -> bool {
        match self {
            FcmError::Transport(_) => true,
            FcmError::Status { status, .. } => *status == 429 || *status >= 500,
            FcmError::NotConfigured => false,
        }
    }
}

#[derive(Clone)]
pub struct Fcm {
    client: reqwest::Client,
    endpoint: String,
}

pub struct Target<'a> {
    pub project_id: &'a str,
    pub secret: &'a str,
    pub token: &'a str,
    pub locale: Option<&'a str>,
}

impl Fcm {
    pub fn new(endpoint: &str) -> Fcm {
        Fcm {
            client: reqwest::Client::builder()
                .timeout(Duration::from_secs(10))
                .build()
                .expect("http client builds"),
            endpoint: endpoint.trim_end_matches('/').to_string(),
        }
    }

    pub async fn send(&self, target: &Target<'_>, n: &Notification) -> Result<(), FcmError> {
        let messages = n
            .mobile
            .as_ref()
            .map(|m| m.messages.as_slice())
            .unwrap_or(&[]);
        let chosen: Option<&MobileNotificationMessage> = messages
            .iter()
            .find(|m| {
                m.locale
                    .as_deref()
                    .is_some_and(|l| Some(l) == target.locale)
            })
            .or_else(|| messages.first());
        let title = chosen
            .and_then(|m| m.title.clone())
            .unwrap_or_else(|| n.subject.clone());
        let body = chosen
            .and_then(|m| m.message.clone())
            .unwrap_or_else(|| n.payload.clone());
        let mut message = json!({
            "token": target.token,
            "notification": { "title": title, "body": body },
            "data": { "issuer": n.issuer, "subject": n.subject, "payload": n.payload },
        });
        if let Some(sound) = n.mobile.as_ref().and_then(|m| m.sound.clone()) {
            message["android"] = json!({ "notification": { "sound": sound } });
            message["apns"] = json!({ "payload": { "aps": { "sound": sound } } });
        }
        let url = format!(
            "{}/v1/projects/{}/messages:send",
            self.endpoint, target.project_id
        );
        let res = self
            .client
            .post(&url)
            .bearer_auth(target.secret)
            .json(&json!({ "message": message }))
            .send()
            .await;
        let result = match res {
            Err(e) => Err(FcmError::Transport(e.to_string())),
            Ok(r) if r.status().is_success() => Ok(()),
            Ok(r) => {
                let status = r.status().as_u16();
                let body = r.text().await.unwrap_or_default();
                Err(FcmError::Status { status, body })
            }
        };
        let label = if result.is_ok() { "ok" } else { "error" };
        metrics::PUSH_SENT.with_label_values(&[label]).inc();
        result
    }
}
