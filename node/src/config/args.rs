//! The command line of `chat-node`: clap flags, each with its `CHAT_*` environment variable.
//!
//! clap parses flags and variables alike (types, `a,b` lists, `true`/`false`), and records for
//! every value whether it came from the command line or the environment, so that
//! [`super::layers`] can put the two in separate figment layers above the TOML file. Nothing
//! here has a default: an absent flag leaves the key to the file or to [`super::file`]'s
//! defaults. This module does not validate.

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::path::PathBuf;

use clap::{ArgAction, CommandFactory, FromArgMatches, Parser};
use serde::Serialize;

use crate::raft::NodeId;

/// `chat-node`: run a node (no subcommand), administer a cluster, or inspect the configuration.
#[derive(Debug, Parser)]
#[command(
    name = "chat-node",
    version,
    about = "A Raft-replicated chat node speaking the GS2-Chat API"
)]
pub struct Args {
    /// Operations on a running cluster, or on the configuration (instead of running a node).
    #[command(subcommand)]
    pub command: Option<Subcommand>,
    #[command(flatten)]
    pub node: NodeArgs,
}

#[derive(Debug, clap::Subcommand)]
pub enum Subcommand {
    /// Cluster administration through a node's admin API.
    Admin(crate::admin_cli::AdminArgs),
    /// The node's configuration, without starting a node.
    Config {
        #[command(subcommand)]
        action: ConfigAction,
    },
}

#[derive(Debug, clap::Subcommand)]
pub enum ConfigAction {
    /// Print the effective configuration (defaults, then the TOML file, then CHAT_* variables,
    /// then flags) as TOML, secrets redacted; exit 2 if it is invalid.
    Print(Box<NodeArgs>),
}

/// `--flag` alone means `--flag=true`, and `--flag=false` turns off what the file turned on;
/// the variable takes `true`/`false` (and `1`/`0`, `yes`/`no`…). Used as `#[arg(switch())]`.
trait Switch {
    fn switch(self) -> Self;
}

impl Switch for clap::Arg {
    fn switch(self) -> Self {
        self.action(ArgAction::Set)
            .num_args(0..=1)
            .require_equals(true)
            .default_missing_value("true")
            .value_parser(clap::builder::BoolishValueParser::new())
    }
}

/// Where a value given to clap came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    Flag,
    Env,
}

/// The flags of a node (also taken by `chat-node config print`). Every flag can also be set
/// through the environment variable shown, or in the TOML file given by `--config` (see
/// deploy/chat-node.toml for the key of each flag). Flags win over variables, variables over
/// the file. Serialized (absent values skipped) with the flag names as keys.
#[derive(Debug, Default, clap::Args, Serialize)]
pub struct NodeArgs {
    /// TOML configuration file (nested tables: [api], [raft], [project], [tokens], [stream], [nats],
    /// [gateway], [log]; see `chat-node config print`).
    #[arg(long, env = "CHAT_CONFIG")]
    #[serde(skip)]
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
    /// Earlier client secrets, comma-separated: tokens they signed are still accepted, so the
    /// secret can rotate without logging everyone out.
    #[arg(
        long,
        env = "CHAT_PREVIOUS_CLIENT_SECRETS",
        hide_env_values = true,
        value_delimiter = ','
    )]
    pub previous_client_secrets: Option<Vec<String>>,
    /// Stream Chat app key (the `api_key` the Stream SDKs send). Generated for development if
    /// absent, with the secret.
    #[arg(long, env = "CHAT_STREAM_API_KEY")]
    pub stream_api_key: Option<String>,
    /// Stream Chat app secret: signs and verifies the Stream SDKs' JWTs.
    #[arg(long, env = "CHAT_STREAM_API_SECRET", hide_env_values = true)]
    pub stream_api_secret: Option<String>,
    /// Do not bootstrap: wait to be added through the admin API of a cluster member.
    /// `--join=false` turns off a `join = true` of the file.
    #[arg(long, env = "CHAT_JOIN", switch())]
    pub join: Option<bool>,
    /// Bootstrap a fixed cluster: "1=host:port,2=host:port,3=host:port" (Raft addresses).
    /// The node with the lowest id initializes it.
    #[arg(long, env = "CHAT_INITIAL_MEMBERS", value_delimiter = ',')]
    pub initial_members: Option<Vec<String>>,
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
    /// Emit logs as JSON lines (`--log-json=false` turns off a `json = true` of the file).
    #[arg(long, env = "CHAT_LOG_JSON", switch())]
    pub log_json: Option<bool>,
    /// NATS server URLs, comma-separated (e.g. nats://127.0.0.1:4222). Without it a single
    /// node uses the in-process bus; clusters need NATS for push delivery.
    #[arg(long, env = "CHAT_NATS_URL", value_delimiter = ',')]
    pub nats_url: Option<Vec<String>>,
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
    /// Require TLS to NATS (`--nats-tls=false` turns off a `tls = true` of the file).
    #[arg(long, env = "CHAT_NATS_TLS", switch())]
    pub nats_tls: Option<bool>,
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
    #[arg(long, env = "CHAT_DIAL_OVERRIDE", value_delimiter = ',')]
    pub dial_override: Option<Vec<String>>,
    /// Flag or environment, per field name of each value given.
    #[arg(skip)]
    #[serde(skip)]
    pub sources: BTreeMap<String, Source>,
}

impl Args {
    /// Parses the process's command line and environment; prints help or the error and exits
    /// on failure, as clap does.
    pub fn parse_process() -> Args {
        Args::try_parse_argv(std::env::args_os()).unwrap_or_else(|e| e.exit())
    }

    /// Parses `argv` (program name first) and the process environment, recording where each
    /// node flag's value came from.
    pub fn try_parse_argv<I, T>(argv: I) -> Result<Args, clap::Error>
    where
        I: IntoIterator<Item = T>,
        T: Into<OsString> + Clone,
    {
        let matches = Args::command().try_get_matches_from(argv)?;
        let mut args = Args::from_arg_matches(&matches)?;
        args.node.record_sources(&matches);
        if let Some(Subcommand::Config {
            action: ConfigAction::Print(node),
        }) = &mut args.command
        {
            if let Some(m) = matches
                .subcommand_matches("config")
                .and_then(|m| m.subcommand_matches("print"))
            {
                node.record_sources(m);
            }
        }
        Ok(args)
    }
}

impl NodeArgs {
    fn record_sources(&mut self, matches: &clap::ArgMatches) {
        for id in matches.ids() {
            let source = match matches.value_source(id.as_str()) {
                Some(clap::parser::ValueSource::CommandLine) => Source::Flag,
                Some(clap::parser::ValueSource::EnvVariable) => Source::Env,
                _ => continue,
            };
            self.sources.insert(id.as_str().to_string(), source);
        }
    }

    /// The long flag and the environment variable of a field (`api_addr` → `--api-addr`,
    /// `CHAT_API_ADDR`), as clap knows them.
    pub fn flag_and_env(field: &str) -> Option<(String, String)> {
        let cmd = <NodeArgs as clap::Args>::augment_args(clap::Command::new("chat-node"));
        let arg = cmd.get_arguments().find(|a| a.get_id() == field)?;
        Some((
            format!("--{}", arg.get_long()?),
            arg.get_env()?.to_string_lossy().into_owned(),
        ))
    }
}
