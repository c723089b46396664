//! The layered configuration as serde sees it: [`Settings`], nested like the TOML file, with
//! the defaults; the table from flag names to keys; and the rewriting of the flat keys of the
//! old file layout (`api_addr = …` at the top) into the tables.
//!
//! Unknown keys are rejected (`deny_unknown_fields` on every table), so a typo stops the node.
//! Values are not checked here beyond their types: [`super::Config::from_settings`] validates.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use super::ConfigError;
use crate::raft::NodeId;

/// The whole configuration, as layered by figment and printed by `chat-node config print`.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct Settings {
    /// RocksDB data (Raft log, snapshots, chat data) and ports.json.
    pub data_dir: PathBuf,
    /// Seed a new single-node cluster from this backup (new data directory only).
    pub restore_from: Option<PathBuf>,
    pub api: ApiSettings,
    pub raft: RaftSettings,
    pub project: ProjectSettings,
    pub tokens: TokenSettings,
    pub stream: StreamSettings,
    pub nats: NatsSettings,
    pub gateway: GatewaySettings,
    pub log: LogSettings,
}

/// `[api]`: the HTTP listener (GS2 REST and WebSocket, admin, metrics, probes).
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct ApiSettings {
    pub addr: String,
    /// Base URL of upload/download URLs. Default: http://<addr>.
    pub public_url: Option<String>,
}

/// `[raft]`: identity, membership at first start, timing, and the peer port.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct RaftSettings {
    pub addr: String,
    pub advertise_addr: Option<String>,
    pub node_id: NodeId,
    pub join: bool,
    /// `"id=host:port"` entries.
    pub initial_members: Vec<String>,
    pub snapshot_threshold: u64,
    pub heartbeat_ms: u64,
    pub election_timeout_ms: u64,
    /// `"advertised=dialed"` entries.
    pub dial_override: Vec<String>,
}

/// `[project]`: the GS2 project credential and identity.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct ProjectSettings {
    pub client_id: Option<String>,
    pub client_secret: Option<String>,
    pub region: String,
    pub owner_id: String,
}

/// `[tokens]`: token verification.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct TokenSettings {
    /// Earlier client secrets whose tokens are still accepted (secret rotation).
    pub previous_client_secrets: Vec<String>,
}

/// `[stream]`: the Stream Chat face's app credentials (the `api_key` clients send and the
/// secret that signs their JWTs).
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct StreamSettings {
    pub api_key: Option<String>,
    pub api_secret: Option<String>,
}

/// `[nats]`: the event bus between nodes.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct NatsSettings {
    /// Server URLs; none: the in-process bus.
    pub url: Vec<String>,
    pub token: Option<String>,
    pub user: Option<String>,
    pub password: Option<String>,
    pub creds: Option<PathBuf>,
    pub tls: bool,
    pub ca: Option<PathBuf>,
    pub stream: String,
}

/// `[gateway]`: push delivery to WebSocket sessions and FCM.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct GatewaySettings {
    pub fcm_endpoint: String,
    pub ws_send_queue: usize,
}

/// `[log]`.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct LogSettings {
    /// tracing filter.
    pub level: String,
    pub json: bool,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            data_dir: PathBuf::from("chat-data"),
            restore_from: None,
            api: ApiSettings::default(),
            raft: RaftSettings::default(),
            project: ProjectSettings::default(),
            tokens: TokenSettings::default(),
            stream: StreamSettings::default(),
            nats: NatsSettings::default(),
            gateway: GatewaySettings::default(),
            log: LogSettings::default(),
        }
    }
}

impl Default for ApiSettings {
    fn default() -> Self {
        ApiSettings {
            addr: "127.0.0.1:8080".into(),
            public_url: None,
        }
    }
}

impl Default for RaftSettings {
    fn default() -> Self {
        RaftSettings {
            addr: "127.0.0.1:8081".into(),
            advertise_addr: None,
            node_id: 1,
            join: false,
            initial_members: Vec::new(),
            snapshot_threshold: 50_000,
            heartbeat_ms: 100,
            election_timeout_ms: 300,
            dial_override: Vec::new(),
        }
    }
}

impl Default for ProjectSettings {
    fn default() -> Self {
        ProjectSettings {
            client_id: None,
            client_secret: None,
            region: "ap-northeast-1".into(),
            owner_id: "owner".into(),
        }
    }
}

impl Default for NatsSettings {
    fn default() -> Self {
        NatsSettings {
            url: Vec::new(),
            token: None,
            user: None,
            password: None,
            creds: None,
            tls: false,
            ca: None,
            stream: "CHAT_EVENTS".into(),
        }
    }
}

impl Default for GatewaySettings {
    fn default() -> Self {
        GatewaySettings {
            fcm_endpoint: "https://fcm.googleapis.com".into(),
            ws_send_queue: 1024,
        }
    }
}

impl Default for LogSettings {
    fn default() -> Self {
        LogSettings {
            level: "info".into(),
            json: false,
        }
    }
}

/// One setting: its flag's field name (also its key in the old flat file layout), its key in
/// the nested layout, and whether the old layout had it as a flat key.
pub struct Key {
    pub flat: &'static str,
    pub nested: &'static str,
    pub legacy: bool,
}

const fn key(flat: &'static str, nested: &'static str, legacy: bool) -> Key {
    Key {
        flat,
        nested,
        legacy,
    }
}

/// Every setting with a flag. `config` (the file itself) is a flag only.
pub const KEYS: &[Key] = &[
    key("data_dir", "data_dir", false),
    key("restore_from", "restore_from", false),
    key("api_addr", "api.addr", true),
    key("public_url", "api.public_url", true),
    key("raft_addr", "raft.addr", true),
    key("advertise_raft_addr", "raft.advertise_addr", true),
    key("node_id", "raft.node_id", true),
    key("join", "raft.join", true),
    key("initial_members", "raft.initial_members", true),
    key("snapshot_threshold", "raft.snapshot_threshold", true),
    key("heartbeat_ms", "raft.heartbeat_ms", true),
    key("election_timeout_ms", "raft.election_timeout_ms", true),
    key("dial_override", "raft.dial_override", true),
    key("client_id", "project.client_id", true),
    key("client_secret", "project.client_secret", true),
    key("region", "project.region", true),
    key("owner_id", "project.owner_id", true),
    key(
        "previous_client_secrets",
        "tokens.previous_client_secrets",
        false,
    ),
    key("stream_api_key", "stream.api_key", false),
    key("stream_api_secret", "stream.api_secret", false),
    key("nats_url", "nats.url", true),
    key("nats_token", "nats.token", true),
    key("nats_user", "nats.user", true),
    key("nats_password", "nats.password", true),
    key("nats_creds", "nats.creds", true),
    key("nats_tls", "nats.tls", true),
    key("nats_ca", "nats.ca", true),
    key("nats_stream", "nats.stream", true),
    key("fcm_endpoint", "gateway.fcm_endpoint", true),
    key("ws_send_queue", "gateway.ws_send_queue", true),
    key("log_level", "log.level", true),
    key("log_json", "log.json", true),
];

/// Keys whose values are secrets: shown as `"<redacted>"` by `config print`.
pub const SECRET_KEYS: &[&str] = &[
    "project.client_secret",
    "tokens.previous_client_secrets",
    "stream.api_secret",
    "nats.token",
    "nats.password",
];

/// Keys whose values are lists (arrays in TOML; the old flat keys were comma strings).
const LIST_KEYS: &[&str] = &[
    "raft.initial_members",
    "raft.dial_override",
    "tokens.previous_client_secrets",
    "nats.url",
];

pub fn by_flat(flat: &str) -> Option<&'static Key> {
    KEYS.iter().find(|k| k.flat == flat)
}

pub fn by_nested(nested: &str) -> Option<&'static Key> {
    KEYS.iter().find(|k| k.nested == nested)
}

/// Sets `path` (dotted) in `table`, creating the tables on the way; false if a non-table is
/// in the way or the key is already set.
pub fn insert_path(table: &mut toml::Table, path: &str, value: toml::Value) -> bool {
    let mut cur = table;
    let mut parts = path.split('.').peekable();
    while let Some(part) = parts.next() {
        if parts.peek().is_none() {
            if cur.contains_key(part) {
                return false;
            }
            cur.insert(part.to_string(), value);
            return true;
        }
        let next = cur
            .entry(part.to_string())
            .or_insert_with(|| toml::Value::Table(toml::Table::new()));
        match next {
            toml::Value::Table(t) => cur = t,
            _ => return false,
        }
    }
    false
}

/// A list given as one comma-separated string becomes an array of its trimmed parts.
pub fn split_list(value: toml::Value) -> toml::Value {
    match value {
        toml::Value::String(s) => toml::Value::Array(
            s.split(',')
                .map(str::trim)
                .filter(|p| !p.is_empty())
                .map(|p| toml::Value::String(p.to_string()))
                .collect(),
        ),
        other => other,
    }
}

/// Moves the old flat keys of a file into their tables; returns the moved keys (each gets one
/// warning). A key given both ways is an error: which one was meant is not known.
pub fn rewrite_legacy(table: &mut toml::Table) -> Result<Vec<&'static Key>, ConfigError> {
    let mut moved = Vec::new();
    for k in KEYS.iter().filter(|k| k.legacy) {
        let Some(value) = table.remove(k.flat) else {
            continue;
        };
        let value = if LIST_KEYS.contains(&k.nested) {
            split_list(value)
        } else {
            value
        };
        if !insert_path(table, k.nested, value) {
            return Err(ConfigError::Invalid {
                field: k.flat,
                reason: format!("set twice: as the old key {} and as {}", k.flat, k.nested),
            });
        }
        moved.push(k);
    }
    Ok(moved)
}
