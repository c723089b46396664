//! Node configuration: one typed struct from flags, environment (`CHAT_*`) and an optional
//! TOML file, in that order of precedence, validated before anything binds.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::Parser;
use serde::Deserialize;

use crate::raft::NodeId;

/// Command line of `chat-node`. Every flag can also be set through the environment variable
/// shown, or in the TOML file given by `--config` (same names in snake_case).
#[derive(Debug, Parser, Default)]
#[command(
    name = "chat-node",
    version,
    about = "A Raft-replicated chat node speaking the GS2-Chat API"
)]
pub struct Args {
    /// Operations on a running cluster (instead of running a node).
    #[command(subcommand)]
    pub command: Option<Subcommand>,
    /// TOML configuration file (keys as the long flags, in snake_case).
    #[arg(long, env = "CHAT_CONFIG")]
    pub config: Option<PathBuf>,
    /// Data folder (RocksDB, snapshots, ports.json). Default: ./chat-data
    #[arg(long, env = "CHAT_DATA_DIR")]
    pub data_dir: Option<PathBuf>,
    /// Address of the GS2 HTTP/WebSocket API. Default: 127.0.0.1:8080 (port 0 = ephemeral).
    #[arg(long, env = "CHAT_API_ADDR")]
    pub api_addr: Option<String>,
    /// Address of the Raft peer port. Default: 127.0.0.1:8081 (port 0 = ephemeral).
    #[arg(long, env = "CHAT_RAFT_ADDR")]
    pub raft_addr: Option<String>,
    /// Address peers use to reach this node's Raft port, if different from --raft-addr.
    #[arg(long, env = "CHAT_ADVERTISE_RAFT_ADDR")]
    pub advertise_raft_addr: Option<String>,
    /// This node's id, unique in the cluster. Default: 1
    #[arg(long, env = "CHAT_NODE_ID")]
    pub node_id: Option<NodeId>,
    /// Project client id (GS2 credential). Generated for development if absent.
    #[arg(long, env = "CHAT_CLIENT_ID")]
    pub client_id: Option<String>,
    /// Project client secret (GS2 credential); also keys token signatures.
    #[arg(long, env = "CHAT_CLIENT_SECRET", hide_env_values = true)]
    pub client_secret: Option<String>,
    /// Do not bootstrap: wait to be added through the admin API of a cluster member.
    #[arg(long, env = "CHAT_JOIN")]
    pub join: bool,
    /// Bootstrap a fixed cluster: "1=host:port,2=host:port,3=host:port" (Raft addresses).
    /// The node with the lowest id initializes it.
    #[arg(long, env = "CHAT_INITIAL_MEMBERS")]
    pub initial_members: Option<String>,
    /// Build a snapshot after this many log entries since the last one. Default: 50000
    #[arg(long, env = "CHAT_SNAPSHOT_THRESHOLD")]
    pub snapshot_threshold: Option<u64>,
    /// Raft heartbeat interval in ms. Default: 100
    #[arg(long, env = "CHAT_HEARTBEAT_MS")]
    pub heartbeat_ms: Option<u64>,
    /// Minimum Raft election timeout in ms (the maximum, twice this, is the leader lease). A
    /// crashed leader is replaced about one lease after its last heartbeat. Default: 300
    #[arg(long, env = "CHAT_ELECTION_TIMEOUT_MS")]
    pub election_timeout_ms: Option<u64>,
    /// Base URL clients use to reach this node (upload and download URLs). Default: http://<api-addr>
    #[arg(long, env = "CHAT_PUBLIC_URL")]
    pub public_url: Option<String>,
    /// GS2 region used in GRNs. Default: ap-northeast-1
    #[arg(long, env = "CHAT_REGION")]
    pub region: Option<String>,
    /// GS2 owner id used in GRNs and returned at project login. Default: owner
    #[arg(long, env = "CHAT_OWNER_ID")]
    pub owner_id: Option<String>,
    /// Log filter (tracing EnvFilter syntax), e.g. "info" or "node=debug". Default: info
    #[arg(long, env = "CHAT_LOG_LEVEL")]
    pub log_level: Option<String>,
    /// Emit logs as JSON lines.
    #[arg(long, env = "CHAT_LOG_JSON")]
    pub log_json: bool,
    /// NATS server URLs, comma-separated (e.g. nats://127.0.0.1:4222). Without it a single
    /// node uses the in-process bus; clusters need NATS for push delivery.
    #[arg(long, env = "CHAT_NATS_URL")]
    pub nats_url: Option<String>,
    /// NATS authentication token.
    #[arg(long, env = "CHAT_NATS_TOKEN", hide_env_values = true)]
    pub nats_token: Option<String>,
    /// NATS user (with --nats-password).
    #[arg(long, env = "CHAT_NATS_USER")]
    pub nats_user: Option<String>,
    /// NATS password.
    #[arg(long, env = "CHAT_NATS_PASSWORD", hide_env_values = true)]
    pub nats_password: Option<String>,
    /// NATS credentials file (JWT + nkey).
    #[arg(long, env = "CHAT_NATS_CREDS")]
    pub nats_creds: Option<PathBuf>,
    /// Require TLS to NATS.
    #[arg(long, env = "CHAT_NATS_TLS")]
    pub nats_tls: bool,
    /// CA certificate (PEM) to verify the NATS servers.
    #[arg(long, env = "CHAT_NATS_CA")]
    pub nats_ca: Option<PathBuf>,
    /// JetStream stream holding chat events. Default: CHAT_EVENTS
    #[arg(long, env = "CHAT_NATS_STREAM")]
    pub nats_stream: Option<String>,
    /// Base URL of FCM HTTP v1. Default: https://fcm.googleapis.com
    #[arg(long, env = "CHAT_FCM_ENDPOINT")]
    pub fcm_endpoint: Option<String>,
    /// Frames queued per WebSocket connection before it is closed as too slow. Default: 1024
    #[arg(long, env = "CHAT_WS_SEND_QUEUE")]
    pub ws_send_queue: Option<usize>,
    /// Seed a new single-node cluster from a backup (`GET /admin/cluster/backup`); the data
    /// directory must be new.
    #[arg(long, env = "CHAT_RESTORE_FROM")]
    pub restore_from: Option<PathBuf>,
    /// Dial other addresses than the peers advertise: "advertised=dialed,..." (e.g. through
    /// fault-injection proxies or address translation).
    #[arg(long, env = "CHAT_DIAL_OVERRIDE")]
    pub dial_override: Option<String>,
}

/// How to reach NATS JetStream.
#[derive(Debug, Clone, Default)]
pub struct NatsConfig {
    pub urls: Vec<String>,
    pub token: Option<String>,
    pub user: Option<String>,
    pub password: Option<String>,
    pub creds: Option<PathBuf>,
    pub tls: bool,
    pub ca: Option<PathBuf>,
    pub stream: String,
}

#[derive(Debug, clap::Subcommand)]
pub enum Subcommand {
    /// Cluster administration through a node's admin API.
    Admin(crate::admin_cli::AdminArgs),
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileConfig {
    data_dir: Option<PathBuf>,
    api_addr: Option<String>,
    raft_addr: Option<String>,
    advertise_raft_addr: Option<String>,
    node_id: Option<NodeId>,
    client_id: Option<String>,
    client_secret: Option<String>,
    join: Option<bool>,
    initial_members: Option<String>,
    snapshot_threshold: Option<u64>,
    heartbeat_ms: Option<u64>,
    election_timeout_ms: Option<u64>,
    public_url: Option<String>,
    region: Option<String>,
    owner_id: Option<String>,
    log_level: Option<String>,
    log_json: Option<bool>,
    nats_url: Option<String>,
    nats_token: Option<String>,
    nats_user: Option<String>,
    nats_password: Option<String>,
    nats_creds: Option<PathBuf>,
    nats_tls: Option<bool>,
    nats_ca: Option<PathBuf>,
    nats_stream: Option<String>,
    fcm_endpoint: Option<String>,
    ws_send_queue: Option<usize>,
    dial_override: Option<String>,
}

/// How this node enters a cluster at first start.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Bootstrap {
    /// A one-node cluster of itself (the embedded default).
    Single,
    /// Waits to be added by a member.
    Join,
    /// A fixed member list; the lowest id initializes.
    Members(Vec<(NodeId, String)>),
}

#[derive(Debug, Clone)]
pub struct Config {
    pub data_dir: PathBuf,
    pub api_addr: SocketAddr,
    pub raft_addr: SocketAddr,
    pub advertise_raft_addr: Option<String>,
    pub node_id: NodeId,
    pub client_id: String,
    pub client_secret: String,
    /// Whether the credentials were generated (printed at start for development).
    pub generated_credentials: bool,
    pub bootstrap: Bootstrap,
    pub snapshot_threshold: u64,
    pub heartbeat_ms: u64,
    pub election_timeout_ms: u64,
    pub public_url: Option<String>,
    pub region: String,
    pub owner_id: String,
    pub log_level: String,
    pub log_json: bool,
    /// `None`: the in-process bus.
    pub nats: Option<NatsConfig>,
    pub fcm_endpoint: String,
    pub ws_send_queue: usize,
    /// Advertised peer address → address actually dialed.
    pub dial_overrides: std::collections::HashMap<String, String>,
    pub restore_from: Option<PathBuf>,
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config file {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("invalid config file {path}: {source}")]
    Parse {
        path: PathBuf,
        source: toml::de::Error,
    },
    #[error("invalid {field}: {reason}")]
    Invalid { field: &'static str, reason: String },
}

fn invalid(field: &'static str, reason: impl Into<String>) -> ConfigError {
    ConfigError::Invalid {
        field,
        reason: reason.into(),
    }
}

fn parse_addr(field: &'static str, s: &str) -> Result<SocketAddr, ConfigError> {
    s.parse()
        .map_err(|e| invalid(field, format!("{s:?} is not host:port ({e})")))
}

fn parse_members(s: &str) -> Result<Vec<(NodeId, String)>, ConfigError> {
    let mut out = Vec::new();
    for part in s.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let (id, addr) = part
            .split_once('=')
            .ok_or_else(|| invalid("initial_members", format!("{part:?} is not id=host:port")))?;
        let id: NodeId = id
            .trim()
            .parse()
            .map_err(|_| invalid("initial_members", format!("{id:?} is not a node id")))?;
        out.push((id, addr.trim().to_string()));
    }
    if out.is_empty() {
        return Err(invalid("initial_members", "empty member list"));
    }
    Ok(out)
}

fn random_hex(bytes: usize) -> String {
    use rand::RngCore;
    let mut b = vec![0u8; bytes];
    rand::thread_rng().fill_bytes(&mut b);
    b.iter().map(|x| format!("{x:02x}")).collect()
}

impl Config {
    pub fn load(args: Args) -> Result<Config, ConfigError> {
        let file = match &args.config {
            Some(path) => {
                let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
                    path: path.clone(),
                    source,
                })?;
                toml::from_str(&text).map_err(|source| ConfigError::Parse {
                    path: path.clone(),
                    source,
                })?
            }
            None => FileConfig::default(),
        };
        let data_dir = args
            .data_dir
            .or(file.data_dir)
            .unwrap_or_else(|| PathBuf::from("chat-data"));
        let api_addr = parse_addr(
            "api_addr",
            &args
                .api_addr
                .or(file.api_addr)
                .unwrap_or_else(|| "127.0.0.1:8080".into()),
        )?;
        let raft_addr = parse_addr(
            "raft_addr",
            &args
                .raft_addr
                .or(file.raft_addr)
                .unwrap_or_else(|| "127.0.0.1:8081".into()),
        )?;
        let node_id = args.node_id.or(file.node_id).unwrap_or(1);
        if node_id == 0 {
            return Err(invalid("node_id", "must be at least 1"));
        }
        let client_id = args.client_id.or(file.client_id);
        let client_secret = args.client_secret.or(file.client_secret);
        let (client_id, client_secret, generated) = match (client_id, client_secret) {
            (Some(id), Some(secret)) => (id, secret, false),
            (None, None) => (format!("dev-{}", random_hex(4)), random_hex(16), true),
            _ => {
                return Err(invalid(
                    "client_id/client_secret",
                    "set both or neither (neither generates a development pair)",
                ))
            }
        };
        if client_secret.len() < 8 {
            return Err(invalid("client_secret", "must be at least 8 characters"));
        }
        let join = args.join || file.join.unwrap_or(false);
        let members = args.initial_members.or(file.initial_members);
        let bootstrap = match (join, members) {
            (true, Some(_)) => {
                return Err(invalid(
                    "join",
                    "--join and --initial-members exclude each other",
                ))
            }
            (true, None) => Bootstrap::Join,
            (false, Some(m)) => {
                let members = parse_members(&m)?;
                if !members.iter().any(|(id, _)| *id == node_id) {
                    return Err(invalid(
                        "initial_members",
                        format!("does not contain this node's id {node_id}"),
                    ));
                }
                Bootstrap::Members(members)
            }
            (false, None) => Bootstrap::Single,
        };
        let snapshot_threshold = args
            .snapshot_threshold
            .or(file.snapshot_threshold)
            .unwrap_or(50_000);
        if snapshot_threshold == 0 {
            return Err(invalid("snapshot_threshold", "must be at least 1"));
        }
        let nats = match args.nats_url.or(file.nats_url) {
            None => None,
            Some(urls) => {
                let urls: Vec<String> = urls
                    .split(',')
                    .map(str::trim)
                    .filter(|u| !u.is_empty())
                    .map(String::from)
                    .collect();
                if urls.is_empty() {
                    return Err(invalid("nats_url", "no server URL given"));
                }
                Some(NatsConfig {
                    urls,
                    token: args.nats_token.or(file.nats_token),
                    user: args.nats_user.or(file.nats_user),
                    password: args.nats_password.or(file.nats_password),
                    creds: args.nats_creds.or(file.nats_creds),
                    tls: args.nats_tls || file.nats_tls.unwrap_or(false),
                    ca: args.nats_ca.or(file.nats_ca),
                    stream: args
                        .nats_stream
                        .or(file.nats_stream)
                        .unwrap_or_else(|| "CHAT_EVENTS".into()),
                })
            }
        };
        if nats.is_none() && !matches!(bootstrap, Bootstrap::Single) {
            tracing::warn!("no --nats-url: push delivery reaches only this node's sessions");
        }
        let ws_send_queue = args.ws_send_queue.or(file.ws_send_queue).unwrap_or(1024);
        if ws_send_queue == 0 {
            return Err(invalid("ws_send_queue", "must be at least 1"));
        }
        let mut dial_overrides = std::collections::HashMap::new();
        if let Some(list) = args.dial_override.or(file.dial_override) {
            for pair in list.split(',').map(str::trim).filter(|p| !p.is_empty()) {
                let (from, to) = pair.split_once('=').ok_or_else(|| {
                    invalid(
                        "dial_override",
                        format!("{pair:?} is not advertised=dialed"),
                    )
                })?;
                dial_overrides.insert(from.trim().to_string(), to.trim().to_string());
            }
        }
        if args.restore_from.is_some() && !matches!(bootstrap, Bootstrap::Single) {
            return Err(invalid(
                "restore_from",
                "restoring seeds a new single-node cluster: do not combine with --join or --initial-members",
            ));
        }
        let heartbeat_ms = args.heartbeat_ms.or(file.heartbeat_ms).unwrap_or(100);
        let election_timeout_ms = args
            .election_timeout_ms
            .or(file.election_timeout_ms)
            .unwrap_or(300);
        if heartbeat_ms == 0 || election_timeout_ms < 3 * heartbeat_ms {
            return Err(invalid(
                "election_timeout_ms",
                "must be at least three heartbeats (and the heartbeat at least 1 ms)",
            ));
        }
        Ok(Config {
            heartbeat_ms,
            election_timeout_ms,
            restore_from: args.restore_from,
            dial_overrides,
            nats,
            fcm_endpoint: args
                .fcm_endpoint
                .or(file.fcm_endpoint)
                .unwrap_or_else(|| "https://fcm.googleapis.com".into()),
            ws_send_queue,
            data_dir,
            api_addr,
            raft_addr,
            advertise_raft_addr: args.advertise_raft_addr.or(file.advertise_raft_addr),
            node_id,
            client_id,
            client_secret,
            generated_credentials: generated,
            bootstrap,
            snapshot_threshold,
            public_url: args.public_url.or(file.public_url),
            region: args
                .region
                .or(file.region)
                .unwrap_or_else(|| "ap-northeast-1".into()),
            owner_id: args
                .owner_id
                .or(file.owner_id)
                .unwrap_or_else(|| "owner".into()),
            log_level: args
                .log_level
                .or(file.log_level)
                .unwrap_or_else(|| "info".into()),
            log_json: args.log_json || file.log_json.unwrap_or(false),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_a_single_node_with_dev_credentials() {
        let c = Config::load(Args::default()).unwrap();
        assert_eq!(c.bootstrap, Bootstrap::Single);
        assert!(c.generated_credentials);
        assert_eq!(c.api_addr.to_string(), "127.0.0.1:8080");
    }

    #[test]
    fn members_are_parsed_and_checked() {
        let args = Args {
            initial_members: Some("1=127.0.0.1:1,2=127.0.0.1:2".into()),
            node_id: Some(2),
            client_id: Some("id".into()),
            client_secret: Some("secret-secret".into()),
            ..Default::default()
        };
        let c = Config::load(args).unwrap();
        assert!(matches!(c.bootstrap, Bootstrap::Members(ref m) if m.len() == 2));
        let bad = Args {
            initial_members: Some("1=127.0.0.1:1".into()),
            node_id: Some(3),
            ..Default::default()
        };
        assert!(Config::load(bad).is_err());
        let half = Args {
            client_id: Some("id".into()),
            ..Default::default()
        };
        assert!(Config::load(half).is_err());
    }
}
