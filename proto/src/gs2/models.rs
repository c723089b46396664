//! GS2-Chat models as the official SDK parses them (`gs2-protocol.md` §8.1).
//!
//! Every field is optional on input (the SDK emits `null` for unset keys); outputs carry every key.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct TransactionSetting {
    pub enable_auto_run: Option<bool>,
    pub enable_atomic_commit: Option<bool>,
    pub transaction_use_distributor: Option<bool>,
    pub commit_script_result_in_use_distributor: Option<bool>,
    pub acquire_action_use_job_queue: Option<bool>,
    pub enable_sequential_execution: Option<bool>,
    pub distributor_namespace_id: Option<String>,
    pub key_id: Option<String>,
    pub queue_namespace_id: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct TransactionSettingV2 {
    pub distributor_namespace_id: Option<String>,
    pub enable_parallel_execution: Option<bool>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ScriptSetting {
    pub trigger_script_id: Option<String>,
    pub done_trigger_target_type: Option<String>,
    pub done_trigger_script_id: Option<String>,
    pub done_trigger_queue_namespace_id: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct LogSetting {
    pub logging_namespace_id: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct MobileNotificationMessage {
    pub locale: Option<String>,
    pub title: Option<String>,
    pub message: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct NotificationSetting {
    pub gateway_namespace_id: Option<String>,
    pub enable_transfer_mobile_notification: Option<bool>,
    pub sound: Option<String>,
    pub mobile_notification_messages: Option<Vec<MobileNotificationMessage>>,
    pub enable: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct NotificationType {
    pub category: Option<i64>,
    pub enable_transfer_mobile_push_notification: Option<bool>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct GitHubCheckoutSetting {
    pub api_key_id: Option<String>,
    pub repository_name: Option<String>,
    pub source_path: Option<String>,
    pub reference_type: Option<String>,
    pub commit_hash: Option<String>,
    pub branch_name: Option<String>,
    pub tag_name: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Namespace {
    pub namespace_id: String,
    pub name: String,
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
    pub created_at: i64,
    pub updated_at: i64,
    pub revision: i64,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Room {
    pub room_id: String,
    pub name: String,
    pub user_id: Option<String>,
    pub metadata: Option<String>,
    /// Never the password: always `null` (only a salted hash is stored).
    pub password: Option<String>,
    pub white_list_user_ids: Vec<String>,
    pub created_at: i64,
    pub updated_at: i64,
    pub revision: i64,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Message {
    pub message_id: String,
    pub room_name: String,
    pub name: String,
    pub user_id: String,
    pub category: i64,
    pub metadata: Option<String>,
    pub created_at: i64,
    pub revision: i64,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Subscribe {
    pub subscribe_id: String,
    pub user_id: String,
    pub room_name: String,
    pub notification_types: Vec<NotificationType>,
    pub created_at: i64,
    pub revision: i64,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CategoryModel {
    pub category_model_id: String,
    pub category: i64,
    pub reject_access_token_post: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CategoryModelMaster {
    pub category_model_id: String,
    pub category: i64,
    pub description: Option<String>,
    pub reject_access_token_post: Option<String>,
    pub created_at: i64,
    pub updated_at: i64,
    pub revision: i64,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CurrentModelMaster {
    pub namespace_id: String,
    pub settings: String,
}

/// The master-data document of `updateCurrentModelMaster` (`gs2-protocol.md` §6.1).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct MasterSettings {
    pub version: Option<String>,
    pub category_models: Vec<MasterCategoryModel>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct MasterCategoryModel {
    pub category: Option<i64>,
    pub reject_access_token_post: Option<String>,
}
