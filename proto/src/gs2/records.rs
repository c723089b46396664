//! What the replicated state stores. These differ from [`crate::gs2::models`]: no GRNs (they are
//! rendered from the node's region and owner), passwords only as salted hashes.
//!
//! Records are encoded as msgpack maps (field names kept), so adding an optional field with
//! `#[serde(default)]` stays readable by older and newer nodes.

use serde::{Deserialize, Serialize};

use crate::gs2::models::{
    LogSetting, NotificationSetting, NotificationType, ScriptSetting, TransactionSetting,
    TransactionSettingV2,
};

/// Every stored namespace setting, as given by `createNamespace` / `updateNamespace`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct NamespaceSettings {
    pub description: Option<String>,
    pub transaction_setting: Option<TransactionSetting>,
    pub transaction_setting_v2: Option<TransactionSettingV2>,
    pub allow_create_room: bool,
    pub message_life_time_days: Option<i64>,
    pub post_message_script: Option<ScriptSetting>,
    pub create_room_script: Option<ScriptSetting>,
    pub delete_room_script: Option<ScriptSetting>,
    pub subscribe_room_script: Option<ScriptSetting>,
    pub unsubscribe_room_script: Option<ScriptSetting>,
    pub post_notification: Option<NotificationSetting>,
    pub log_setting: Option<LogSetting>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct NamespaceRecord {
    pub name: String,
    pub settings: NamespaceSettings,
    pub created_at: i64,
    pub updated_at: i64,
    pub revision: i64,
}

impl NamespaceRecord {
    /// Messages created before this instant (ms) are expired, if the namespace has a lifetime.
    pub fn expiry_cutoff(&self, now_ms: i64) -> Option<i64> {
        self.settings
            .message_life_time_days
            .filter(|d| *d > 0)
            .map(|d| now_ms.saturating_sub(d.saturating_mul(86_400_000)))
    }
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct RoomRecord {
    pub namespace: String,
    pub name: String,
    /// Owner; `None` for rooms created by the backend without a user.
    pub user_id: Option<String>,
    pub metadata: Option<String>,
    /// PHC string of a salted Argon2 hash; the clear password is never stored.
    pub password_hash: Option<String>,
    pub white_list_user_ids: Vec<String>,
    pub created_at: i64,
    pub updated_at: i64,
    pub revision: i64,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct MessageRecord {
    pub namespace: String,
    pub room: String,
    pub name: String,
    pub user_id: String,
    pub category: i64,
    pub metadata: Option<String>,
    pub created_at: i64,
    pub revision: i64,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct SubscribeRecord {
    pub namespace: String,
    pub user_id: String,
    pub room: String,
    pub notification_types: Vec<NotificationType>,
    pub created_at: i64,
    pub revision: i64,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct CategoryMasterRecord {
    pub namespace: String,
    pub category: i64,
    pub description: Option<String>,
    pub reject_access_token_post: Option<String>,
    pub created_at: i64,
    pub updated_at: i64,
    pub revision: i64,
}

/// The active category models of a namespace (`updateCurrentModelMaster`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct CurrentMasterRecord {
    pub namespace: String,
    /// The master-data JSON text exactly as uploaded.
    pub settings: String,
    pub models: Vec<ActiveCategoryModel>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct ActiveCategoryModel {
    pub category: i64,
    pub reject_access_token_post: bool,
}

impl CurrentMasterRecord {
    pub fn rejects_player_post(&self, category: i64) -> bool {
        self.models
            .iter()
            .any(|m| m.category == category && m.reject_access_token_post)
    }
}

/// Everything held about one user across namespaces: the document of `dumpUserDataByUserId`,
/// and what `importUserDataByUserId` restores.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct UserDump {
    pub user_id: String,
    pub rooms: Vec<RoomRecord>,
    pub messages: Vec<MessageRecord>,
    pub subscribes: Vec<SubscribeRecord>,
    pub firebase_tokens: Vec<FirebaseTokenRecord>,
}

/// Every stored gateway-namespace setting.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct GatewaySettings {
    pub description: Option<String>,
    pub transaction_setting: Option<TransactionSetting>,
    pub transaction_setting_v2: Option<TransactionSettingV2>,
    /// Bearer credential for FCM HTTP v1 (an OAuth2 access token).
    pub firebase_secret: Option<String>,
    pub firebase_project_id: Option<String>,
    pub log_setting: Option<LogSetting>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct GatewayNamespaceRecord {
    pub name: String,
    pub settings: GatewaySettings,
    pub created_at: i64,
    pub updated_at: i64,
    pub revision: i64,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct FirebaseTokenRecord {
    pub namespace: String,
    pub user_id: String,
    pub token: String,
    pub locale: Option<String>,
    pub created_at: i64,
    pub updated_at: i64,
    pub revision: i64,
}
