//! Node configuration: one typed struct from a TOML file, `CHAT_*` environment variables and
//! flags (later wins), validated before anything binds.
//!
//! - [`args`]: the clap command line (flags and their variables; `config print`).
//! - [`file`]: [`Settings`], the nested serde struct with the defaults, and the old flat keys.
//! - [`layers`]: the figment stack (defaults < file < environment < flags).
//! - `print`: `chat-node config print`, the effective configuration as TOML.
//! - here: [`Config`], what the node runs with, and the validation that produces it.

pub mod args;
pub mod file;
pub mod layers;
mod print;
#[cfg(test)]
mod tests;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

pub use args::{Args, ConfigAction, NodeArgs, Subcommand};
pub use file::Settings;

use crate::raft::NodeId;

/// How to reach NATS JetStream: the `[nats]` settings, `url` holding one server URL per entry
/// (the `a,b` entries split).
pub type NatsConfig = file::NatsSettings;

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
    /// Earlier client secrets: tokens they signed are still accepted (secret rotation).
    pub previous_client_secrets: Vec<String>,
    /// Whether the credentials were generated (printed at start for development).
    pub generated_credentials: bool,
    /// The Stream face's app key and secret.
    pub stream_api_key: String,
    pub stream_api_secret: String,
    /// Whether the Stream pair was generated (printed at start for development).
    pub generated_stream_credentials: bool,
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
    /// Found while loading, logged once logging is set up.
    pub warnings: Vec<ConfigWarning>,
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config file {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("invalid config file {path}: {reason}")]
    Parse { path: PathBuf, reason: String },
    #[error("invalid configuration: {reason}")]
    Layers { reason: String },
    #[error("invalid {field}: {reason}")]
    Invalid { field: &'static str, reason: String },
}

/// Something to tell the operator that does not stop the node.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConfigWarning {
    /// The file uses a key of the old flat layout.
    LegacyKey {
        old: &'static str,
        new: &'static str,
    },
    /// A cluster without NATS: pushes reach only the sessions of the node that relays them.
    NoNats,
}

impl std::fmt::Display for ConfigWarning {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ConfigWarning::LegacyKey { old, new } => {
                write!(f, "config key {old} is deprecated: use {new}")
            }
            ConfigWarning::NoNats => {
                write!(
                    f,
                    "no --nats-url: push delivery reaches only this node's sessions"
                )
            }
        }
    }
}

impl ConfigWarning {
    pub fn log(&self) {
        match self {
            ConfigWarning::LegacyKey { old, new } => {
                tracing::warn!(old_key = old, new_key = new, "{self}")
            }
            ConfigWarning::NoNats => tracing::warn!("{self}"),
        }
    }
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

/// The entries of a list, each possibly itself "a,b": trimmed, empty ones dropped.
fn entries(list: &[String]) -> impl Iterator<Item = &str> {
    list.iter()
        .flat_map(|e| e.split(','))
        .map(str::trim)
        .filter(|p| !p.is_empty())
}

fn parse_members(list: &[String]) -> Result<Vec<(NodeId, String)>, ConfigError> {
    let mut out = Vec::new();
    for part in entries(list) {
        let (id, addr) = part.split_once('=').ok_or_else(|| {
            invalid(
                "raft.initial_members",
                format!("{part:?} is not id=host:port"),
            )
        })?;
        let id: NodeId = id
            .trim()
            .parse()
            .map_err(|_| invalid("raft.initial_members", format!("{id:?} is not a node id")))?;
        out.push((id, addr.trim().to_string()));
    }
    if out.is_empty() {
        return Err(invalid("raft.initial_members", "empty member list"));
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
    /// Layers defaults, the file of `--config`, the environment and the flags, and validates.
    pub fn load(args: &NodeArgs) -> Result<Config, ConfigError> {
        let layered = layers::layer(args)?;
        Config::from_settings(layered.settings, layered.warnings)
    }

    /// Validates layered settings into what the node runs with.
    pub fn from_settings(
        s: Settings,
        mut warnings: Vec<ConfigWarning>,
    ) -> Result<Config, ConfigError> {
        let api_addr = parse_addr("api.addr", &s.api.addr)?;
        let raft_addr = parse_addr("raft.addr", &s.raft.addr)?;
        let node_id = s.raft.node_id;
        if node_id == 0 {
            return Err(invalid("raft.node_id", "must be at least 1"));
        }
        let (client_id, client_secret, generated) =
            match (s.project.client_id, s.project.client_secret) {
                (Some(id), Some(secret)) => (id, secret, false),
                (None, None) => (format!("dev-{}", random_hex(4)), random_hex(16), true),
                _ => {
                    return Err(invalid(
                        "project.client_id/client_secret",
                        "set both or neither (neither generates a development pair)",
                    ))
                }
            };
        if client_secret.len() < 8 {
            return Err(invalid(
                "project.client_secret",
                "must be at least 8 characters",
            ));
        }
        let previous_client_secrets: Vec<String> = s
            .tokens
            .previous_client_secrets
            .iter()
            .map(|p| p.trim().to_string())
            .filter(|p| !p.is_empty())
            .collect();
        if previous_client_secrets.iter().any(|p| p.len() < 8) {
            return Err(invalid(
                "tokens.previous_client_secrets",
                "each must be at least 8 characters",
            ));
        }
        let (stream_api_key, stream_api_secret, generated_stream) =
            match (s.stream.api_key, s.stream.api_secret) {
                (Some(key), Some(secret)) => (key, secret, false),
                (None, None) => (format!("dev{}", random_hex(6)), random_hex(24), true),
                _ => {
                    return Err(invalid(
                        "stream.api_key/api_secret",
                        "set both or neither (neither generates a development pair)",
                    ))
                }
            };
        if stream_api_key.is_empty() || stream_api_secret.len() < 8 {
            return Err(invalid(
                "stream.api_secret",
                "the key must not be empty and the secret must be at least 8 characters",
            ));
        }
        let members = (!s.raft.initial_members.is_empty()).then_some(&s.raft.initial_members);
        let bootstrap = match (s.raft.join, members) {
            (true, Some(_)) => {
                return Err(invalid(
                    "raft.join",
                    "--join and --initial-members exclude each other",
                ))
            }
            (true, None) => Bootstrap::Join,
            (false, Some(m)) => {
                let members = parse_members(m)?;
                if !members.iter().any(|(id, _)| *id == node_id) {
                    return Err(invalid(
                        "raft.initial_members",
                        format!("does not contain this node's id {node_id}"),
                    ));
                }
                Bootstrap::Members(members)
            }
            (false, None) => Bootstrap::Single,
        };
        if s.raft.snapshot_threshold == 0 {
            return Err(invalid("raft.snapshot_threshold", "must be at least 1"));
        }
        let nats = if s.nats.url.is_empty() {
            None
        } else {
            let url: Vec<String> = entries(&s.nats.url).map(String::from).collect();
            if url.is_empty() {
                return Err(invalid("nats.url", "no server URL given"));
            }
            Some(NatsConfig { url, ..s.nats })
        };
        if nats.is_none() && !matches!(bootstrap, Bootstrap::Single) {
            warnings.push(ConfigWarning::NoNats);
        }
        if s.gateway.ws_send_queue == 0 {
            return Err(invalid("gateway.ws_send_queue", "must be at least 1"));
        }
        let mut dial_overrides = std::collections::HashMap::new();
        for pair in entries(&s.raft.dial_override) {
            let (from, to) = pair.split_once('=').ok_or_else(|| {
                invalid(
                    "raft.dial_override",
                    format!("{pair:?} is not advertised=dialed"),
                )
            })?;
            dial_overrides.insert(from.trim().to_string(), to.trim().to_string());
        }
        if s.restore_from.is_some() && !matches!(bootstrap, Bootstrap::Single) {
            return Err(invalid(
                "restore_from",
                "restoring seeds a new single-node cluster: do not combine with --join or --initial-members",
            ));
        }
        let (heartbeat_ms, election_timeout_ms) = (s.raft.heartbeat_ms, s.raft.election_timeout_ms);
        if heartbeat_ms == 0 || election_timeout_ms < 3 * heartbeat_ms {
            return Err(invalid(
                "raft.election_timeout_ms",
                "must be at least three heartbeats (and the heartbeat at least 1 ms)",
            ));
        }
        Ok(Config {
            heartbeat_ms,
            election_timeout_ms,
            restore_from: s.restore_from,
            dial_overrides,
            nats,
            fcm_endpoint: s.gateway.fcm_endpoint,
            ws_send_queue: s.gateway.ws_send_queue,
            data_dir: s.data_dir,
            api_addr,
            raft_addr,
            advertise_raft_addr: s.raft.advertise_addr,
            node_id,
            client_id,
            client_secret,
            previous_client_secrets,
            generated_credentials: generated,
            stream_api_key,
            stream_api_secret,
            generated_stream_credentials: generated_stream,
            bootstrap,
            snapshot_threshold: s.raft.snapshot_threshold,
            public_url: s.api.public_url,
            region: s.project.region,
            owner_id: s.project.owner_id,
            log_level: s.log.level,
            log_json: s.log.json,
            warnings,
        })
    }
}

/// The effective configuration as TOML, secrets redacted, once it validates.
pub fn print(args: &NodeArgs) -> Result<(String, Vec<ConfigWarning>), ConfigError> {
    let layered = layers::layer(args)?;
    let config = Config::from_settings(layered.settings.clone(), layered.warnings)?;
    Ok((
        print::render(&layered.settings, &layered.figment),
        config.warnings,
    ))
}

/// `chat-node config print`: the TOML on stdout and exit 0, or the error and exit 2.
pub fn print_main(args: &NodeArgs) -> ExitCode {
    match print(args) {
        Ok((text, warnings)) => {
            for w in warnings {
                eprintln!("chat-node: warning: {w}");
            }
            print!("{text}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("chat-node: {e}");
            ExitCode::from(2)
        }
    }
}
