//! How a [`super::Node`] is started: id, join or bootstrap, credentials, log level,
//! directory, addresses, binary, extra arguments and environment, with builder methods
//! for the common ones.

use super::{Ports, CLIENT_ID, CLIENT_SECRET};
use std::path::PathBuf;

/// How to start a node.
#[derive(Debug, Clone)]
pub struct NodeOpts {
    pub node_id: u64,
    /// Pass `--join` (do not bootstrap; wait to be added by a member's admin API).
    pub join: bool,
    pub snapshot_threshold: Option<u64>,
    pub client_id: String,
    pub client_secret: String,
    /// Extra command-line arguments, appended last.
    pub extra_args: Vec<String>,
    /// `--log-level` (default: `CHAT_TESTS_LOG_LEVEL`, else `info`).
    pub log_level: Option<String>,
    /// The node's directory (data dir + log), kept across runs and never removed; default:
    /// a fresh temp dir, removed on drop unless [`NodeOpts::keep`].
    pub dir: Option<PathBuf>,
    /// Where the temp dir is made (default: the system temp dir).
    pub temp_parent: Option<PathBuf>,
    /// Keep the temp dir on drop (also `CHAT_TESTS_KEEP=1`).
    pub keep: bool,
    /// Fixed API and Raft addresses (default: ephemeral ports, read back from `ports.json`).
    pub addrs: Option<Ports>,
    /// The label of the harness lines in the node log (`----- <label>: … -----`).
    pub note_label: String,
    /// The binary (default: [`super::binary_path`]).
    pub bin: Option<PathBuf>,
    /// Extra environment variables of the process.
    pub env: Vec<(String, String)>,
}

impl Default for NodeOpts {
    fn default() -> Self {
        NodeOpts {
            node_id: 1,
            join: false,
            snapshot_threshold: None,
            client_id: CLIENT_ID.to_owned(),
            client_secret: CLIENT_SECRET.to_owned(),
            extra_args: Vec::new(),
            log_level: None,
            dir: None,
            temp_parent: None,
            keep: false,
            addrs: None,
            note_label: "test harness".to_owned(),
            bin: None,
            env: Vec::new(),
        }
    }
}

impl NodeOpts {
    pub fn id(node_id: u64) -> Self {
        NodeOpts {
            node_id,
            ..NodeOpts::default()
        }
    }
    pub fn env(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.env.push((key.into(), value.into()));
        self
    }
    pub fn join(mut self) -> Self {
        self.join = true;
        self
    }
    pub fn snapshot_threshold(mut self, n: Option<u64>) -> Self {
        self.snapshot_threshold = n;
        self
    }
    pub fn arg(mut self, a: impl Into<String>) -> Self {
        self.extra_args.push(a.into());
        self
    }
    /// Project credentials.
    pub fn credentials(mut self, id: &str, secret: &str) -> Self {
        self.client_id = id.to_owned();
        self.client_secret = secret.to_owned();
        self
    }
    pub fn log_level(mut self, level: impl Into<String>) -> Self {
        self.log_level = Some(level.into());
        self
    }
    /// `--nats-url URL` (NATS JetStream bus instead of the embedded one).
    pub fn nats(self, url: impl Into<String>) -> Self {
        self.arg("--nats-url").arg(url)
    }
    /// `--fcm-endpoint URL` (base URL of the FCM HTTP v1 API).
    pub fn fcm(self, url: impl Into<String>) -> Self {
        self.arg("--fcm-endpoint").arg(url)
    }
    /// `--ws-send-queue N` (per-connection WebSocket send queue, in frames).
    pub fn ws_send_queue(self, n: usize) -> Self {
        self.arg("--ws-send-queue").arg(n.to_string())
    }
}
