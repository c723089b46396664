//! GS2-Gateway models (`gs2-protocol.md` §8.2) and the push notification frame (§7.4, §10).

use serde::{Deserialize, Serialize};

use crate::gs2::models::{
    LogSetting, MobileNotificationMessage, TransactionSetting, TransactionSettingV2,
};

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GatewayNamespace {
    pub namespace_id: String,
    pub name: String,
    pub description: Option<String>,
    pub transaction_setting: Option<TransactionSetting>,
    pub transaction_setting_v2: Option<TransactionSettingV2>,
    pub firebase_secret: Option<String>,
    pub firebase_project_id: Option<String>,
    pub log_setting: Option<LogSetting>,
    pub created_at: i64,
    pub updated_at: i64,
    pub revision: i64,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WebSocketSession {
    pub web_socket_session_id: String,
    pub connection_id: String,
    pub namespace_name: String,
    pub user_id: String,
    pub session_id: Option<String>,
    pub created_at: i64,
    pub updated_at: i64,
    pub revision: i64,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FirebaseToken {
    pub firebase_token_id: String,
    pub user_id: String,
    pub token: String,
    pub locale: Option<String>,
    pub created_at: i64,
    pub updated_at: i64,
    pub revision: i64,
}

/// What a notification frame carries: `{issuer, subject, payload}` (payload is JSON text).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Notification {
    pub issuer: String,
    pub subject: String,
    pub payload: String,
    /// Mobile forwarding options (not part of the WebSocket frame).
    #[serde(skip)]
    pub mobile: Option<MobilePush>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MobilePush {
    pub sound: Option<String>,
    pub messages: Vec<MobileNotificationMessage>,
}

impl Notification {
    /// The WebSocket frame: no `requestId`, `"type":"notification"` for the TypeScript SDK.
    pub fn frame(&self) -> serde_json::Value {
        serde_json::json!({
            "type": "notification",
            "body": { "issuer": self.issuer, "subject": self.subject, "payload": self.payload },
        })
    }
}

/// The payload of a chat post notification (`Gs2Chat:Post`, reference §10).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PostNotification {
    pub namespace_name: String,
    pub room_name: String,
    pub user_id: String,
    pub category: i64,
    pub created_at: i64,
}

pub const CHAT_POST_ISSUER: &str = "Gs2Chat:Post";
