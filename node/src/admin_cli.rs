//! `chat-node admin …`: cluster status, membership, leadership transfer, snapshots and backups,
//! through a node's admin API (any node; it forwards to the leader).

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{bail, Context};
use clap::{Args, Subcommand};
use serde_json::{json, Value};

#[derive(Debug, Args)]
pub struct AdminArgs {
    /// API URL of any node.
    #[arg(long, env = "CHAT_ADMIN_URL", default_value = "http://127.0.0.1:8080")]
    pub url: String,
    /// Project client id.
    #[arg(long, env = "CHAT_CLIENT_ID")]
    pub client_id: String,
    /// Project client secret.
    #[arg(long, env = "CHAT_CLIENT_SECRET", hide_env_values = true)]
    pub client_secret: String,
    #[command(subcommand)]
    pub action: Action,
}

#[derive(Debug, Subcommand)]
pub enum Action {
    /// Members, leader, term, log/commit/applied/snapshot indexes.
    Status,
    /// Add a node: learner first, promoted to voter once caught up.
    AddNode { node_id: u64, raft_addr: String },
    /// Remove a node from the membership.
    RemoveNode { node_id: u64 },
    /// Hand leadership to a node (default: the most up-to-date other voter).
    TransferLeader { node_id: Option<u64> },
    /// Build a snapshot now (and purge the log behind it).
    Snapshot,
    /// Save a consistent backup; seed a new cluster with `chat-node --restore-from FILE`.
    Backup { file: PathBuf },
}

pub fn main(args: AdminArgs) -> ExitCode {
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("chat-node admin: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(args)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("chat-node admin: {e:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run(args: AdminArgs) -> anyhow::Result<()> {
    let http = reqwest::Client::new();
    let base = args.url.trim_end_matches('/').to_string();
    let login: Value = http
        .post(format!("{base}/identifier/projectToken/login"))
        .json(&json!({ "client_id": args.client_id, "client_secret": args.client_secret }))
        .send()
        .await
        .context("cannot reach the node")?
        .json()
        .await?;
    let Some(token) = login["access_token"].as_str() else {
        bail!("login refused: {login}");
    };
    let auth = format!("Bearer {token}");
    let request = match &args.action {
        Action::Status => http.get(format!("{base}/admin/cluster")),
        Action::AddNode { node_id, raft_addr } => http
            .post(format!("{base}/admin/cluster/nodes"))
            .json(&json!({ "nodeId": node_id, "raftAddr": raft_addr })),
        Action::RemoveNode { node_id } => {
            http.delete(format!("{base}/admin/cluster/nodes/{node_id}"))
        }
        Action::TransferLeader { node_id } => http
            .post(format!("{base}/admin/cluster/leader"))
            .json(&json!({ "nodeId": node_id })),
        Action::Snapshot => http.post(format!("{base}/admin/cluster/snapshot")),
        Action::Backup { .. } => http.get(format!("{base}/admin/cluster/backup")),
    };
    let response = request.header("authorization", auth).send().await?;
    let status = response.status();
    let bytes = response.bytes().await?;
    if !status.is_success() {
        bail!("{status}: {}", String::from_utf8_lossy(&bytes));
    }
    match &args.action {
        Action::Backup { file } => {
            std::fs::write(file, &bytes)
                .with_context(|| format!("cannot write {}", file.display()))?;
            println!(
                "backup written to {} ({} bytes)",
                file.display(),
                bytes.len()
            );
        }
        _ => {
            let v: Value = serde_json::from_slice(&bytes)?;
            println!("{}", serde_json::to_string_pretty(&v)?);
        }
    }
    Ok(())
}
