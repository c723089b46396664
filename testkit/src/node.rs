//! One `chat-node` process under test.
//!
//! Owns: the binary lookup, the temp dir (data dir + log file), spawning with
//! ephemeral ports, waiting for `DIR/ports.json` then `GET /healthz`, SIGKILL, restart
//! on the same data dir, and printing the log tail when the test thread panics.
//! Does not own: cluster formation (see [`crate::cluster`]) or any assertion.

use crate::client::Client;
use anyhow::{bail, Context, Result};
use serde_json::Value;
use std::fs::OpenOptions;
use std::io::Write;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Project credentials every test node is started with.
pub const CLIENT_ID: &str = "test-client";
pub const CLIENT_SECRET: &str = "test-secret";

/// How long a node may take from spawn to a healthy `/healthz` (debug build, cold disk).
const START_TIMEOUT: Duration = Duration::from_secs(60);
/// Lines of log printed when a test panics.
const LOG_TAIL_LINES: usize = 200;

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

/// The addresses a running node reported in `ports.json`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ports {
    pub api: SocketAddr,
    pub raft: SocketAddr,
}

/// A `chat-node` child process. Killed on drop.
pub struct Node {
    opts: NodeOpts,
    dir: Option<tempfile::TempDir>,
    root: PathBuf,
    data_dir: PathBuf,
    log_path: PathBuf,
    child: Option<Child>,
    ports: Ports,
    /// Logged-in client for the current ports (reset on restart).
    client: Mutex<Option<Client>>,
}

/// Path of the `chat-node` binary, see the crate doc.
pub fn binary_path() -> PathBuf {
    if let Some(p) = std::env::var_os("CHAT_NODE_BIN") {
        return PathBuf::from(p);
    }
    if let Some(t) = std::env::var_os("CARGO_TARGET_DIR") {
        let p = PathBuf::from(t).join("debug").join("chat-node");
        if p.exists() {
            return p;
        }
    }
    crate::workspace_root()
        .join("target")
        .join("debug")
        .join("chat-node")
}

impl Node {
    /// Spawns a node on ephemeral ports in a fresh temp dir and waits until healthy.
    pub async fn start(opts: NodeOpts) -> Result<Node> {
        let dir = tempfile::Builder::new()
            .prefix(&format!("chat-node-{}-", opts.node_id))
            .tempdir()
            .context("create node temp dir")?;
        let root = dir.path().to_path_buf();
        let data_dir = root.join("data");
        std::fs::create_dir_all(&data_dir).context("create data dir")?;
        let log_path = root.join("node.log");
        let mut node = Node {
            opts,
            dir: Some(dir),
            root,
            data_dir,
            log_path,
            child: None,
            ports: Ports {
                api: "127.0.0.1:0".parse().expect("addr"),
                raft: "127.0.0.1:0".parse().expect("addr"),
            },
            client: Mutex::new(None),
        };
        let zero = node.ports;
        node.spawn(zero).await?;
        Ok(node)
    }

    /// SIGKILLs the process (std `Child::kill` is SIGKILL on unix) and reaps it.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
            self.note(&format!("SIGKILL node {}", self.opts.node_id));
        }
        *self.client.lock().expect("client lock") = None;
    }

    /// SIGTERMs the process and waits (up to 30 s) for it to exit; SIGKILL after that.
    pub async fn terminate(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = std::process::Command::new("kill")
                .arg("-TERM")
                .arg(child.id().to_string())
                .status();
            let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
            loop {
                if let Ok(Some(_)) = child.try_wait() {
                    break;
                }
                if std::time::Instant::now() > deadline {
                    let _ = child.kill();
                    let _ = child.wait();
                    break;
                }
                tokio::time::sleep(std::time::Duration::from_millis(50)).await;
            }
            self.note(&format!("SIGTERM node {}", self.opts.node_id));
        }
        *self.client.lock().expect("client lock") = None;
    }

    /// Kills the node if running, then starts it again on the same data dir and node id.
    ///
    /// The previous API and Raft addresses are reused: the Raft address is recorded in
    /// the cluster membership, so a node coming back on another Raft port would be
    /// unreachable for its peers. `ports.json` is deleted first and re-read, so the
    /// addresses are whatever the node reports.
    pub async fn restart(&mut self) -> Result<()> {
        self.kill();
        let previous = self.ports;
        self.spawn(previous).await
    }

    pub fn id(&self) -> u64 {
        self.opts.node_id
    }
    pub fn opts(&self) -> &NodeOpts {
        &self.opts
    }
    pub fn is_running(&self) -> bool {
        self.child.is_some()
    }
    pub fn api_addr(&self) -> SocketAddr {
        self.ports.api
    }
    pub fn raft_addr(&self) -> SocketAddr {
        self.ports.raft
    }
    /// `http://127.0.0.1:PORT`
    pub fn url(&self) -> String {
        format!("http://{}", self.ports.api)
    }
    /// `ws://127.0.0.1:PORT/` (the GS2 WebSocket gateway).
    pub fn ws_url(&self) -> String {
        format!("ws://{}/", self.ports.api)
    }
    pub fn data_dir(&self) -> &Path {
        &self.data_dir
    }
    pub fn log_path(&self) -> &Path {
        &self.log_path
    }

    /// A client logged in with the node's project credentials (cached until restart).
    pub async fn client(&self) -> Result<Client> {
        if let Some(c) = self.client.lock().expect("client lock").clone() {
            return Ok(c);
        }
        let c = Client::login(&self.url(), &self.opts.client_id, &self.opts.client_secret)
            .await
            .with_context(|| format!("project login on node {}", self.opts.node_id))?;
        *self.client.lock().expect("client lock") = Some(c.clone());
        Ok(c)
    }

    /// `GET /admin/cluster` on this node.
    pub async fn cluster_status(&self) -> Result<Value> {
        let c = self.client().await?;
        let r = c.get("/admin/cluster").try_send().await?;
        if r.status != 200 {
            bail!(
                "GET /admin/cluster on node {} -> {}: {}",
                self.id(),
                r.status,
                r.text
            );
        }
        Ok(r.body)
    }

    /// The last `n` lines of the node's log.
    pub fn log_tail(&self, n: usize) -> String {
        let text = std::fs::read_to_string(&self.log_path).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(n)..].join("\n")
    }

    /// Prints the log tail to stderr (captured by the test harness, shown on failure).
    pub fn print_log_tail(&self) {
        eprintln!(
            "===== node {} log tail ({}) =====\n{}\n===== end of node {} log =====",
            self.opts.node_id,
            self.log_path.display(),
            self.log_tail(LOG_TAIL_LINES),
            self.opts.node_id
        );
    }

    fn ports_file(&self) -> PathBuf {
        self.data_dir.join("ports.json")
    }

    /// Appends a harness line to the node log, so kills and restarts show up in it.
    fn note(&self, what: &str) {
        if let Ok(mut f) = OpenOptions::new().append(true).open(&self.log_path) {
            let _ = writeln!(f, "----- test harness: {what} -----");
        }
    }

    async fn spawn(&mut self, addrs: Ports) -> Result<()> {
        let bin = binary_path();
        if !bin.exists() {
            bail!(
                "chat-node binary not found at {} (build it with `cargo build -p node`, or set CHAT_NODE_BIN)",
                bin.display()
            );
        }
        let ports_file = self.ports_file();
        match std::fs::remove_file(&ports_file) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(e).context("remove old ports.json"),
        }
        let log = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log_path)
            .context("open node log")?;
        let log_err = log.try_clone().context("clone log handle")?;
        let mut cmd = Command::new(&bin);
        cmd.arg("--data-dir")
            .arg(&self.data_dir)
            .arg("--api-addr")
            .arg(addrs.api.to_string())
            .arg("--raft-addr")
            .arg(addrs.raft.to_string())
            .arg("--node-id")
            .arg(self.opts.node_id.to_string())
            .arg("--client-id")
            .arg(&self.opts.client_id)
            .arg("--client-secret")
            .arg(&self.opts.client_secret)
            .arg("--log-level")
            .arg(std::env::var("CHAT_TESTS_LOG_LEVEL").unwrap_or_else(|_| "info".into()));
        if self.opts.join {
            cmd.arg("--join");
        }
        if let Some(n) = self.opts.snapshot_threshold {
            cmd.arg("--snapshot-threshold").arg(n.to_string());
        }
        cmd.args(&self.opts.extra_args)
            .env("RUST_BACKTRACE", "1")
            .stdin(Stdio::null())
            .stdout(Stdio::from(log))
            .stderr(Stdio::from(log_err));
        self.note(&format!("spawn {:?}", cmd));
        let child = cmd
            .spawn()
            .with_context(|| format!("spawn {}", bin.display()))?;
        self.child = Some(child);
        *self.client.lock().expect("client lock") = None;

        let started = Instant::now();
        let ports = self.wait_ports_file(started).await?;
        self.ports = ports;
        self.wait_healthz(started).await
    }

    /// Fails fast if the child exited.
    fn check_alive(&mut self) -> Result<()> {
        if let Some(child) = self.child.as_mut() {
            if let Some(status) = child.try_wait().context("try_wait")? {
                self.child = None;
                bail!(
                    "node {} exited during start with {status}; log tail:\n{}",
                    self.opts.node_id,
                    self.log_tail(80)
                );
            }
        }
        Ok(())
    }

    async fn wait_ports_file(&mut self, started: Instant) -> Result<Ports> {
        let path = self.ports_file();
        loop {
            self.check_alive()?;
            if let Ok(text) = std::fs::read_to_string(&path) {
                if let Ok(v) = serde_json::from_str::<Value>(&text) {
                    let api = v
                        .get("api")
                        .and_then(Value::as_str)
                        .and_then(|s| s.parse().ok());
                    let raft = v
                        .get("raft")
                        .and_then(Value::as_str)
                        .and_then(|s| s.parse().ok());
                    if let (Some(api), Some(raft)) = (api, raft) {
                        if let Some(id) = v.get("nodeId").and_then(Value::as_u64) {
                            if id != self.opts.node_id {
                                bail!("ports.json has nodeId {id}, expected {}", self.opts.node_id);
                            }
                        }
                        return Ok(Ports { api, raft });
                    }
                }
            }
            if started.elapsed() > START_TIMEOUT {
                bail!(
                    "node {} wrote no valid {} within {START_TIMEOUT:?}; log tail:\n{}",
                    self.opts.node_id,
                    path.display(),
                    self.log_tail(80)
                );
            }
            tokio::time::sleep(crate::POLL).await;
        }
    }

    async fn wait_healthz(&mut self, started: Instant) -> Result<()> {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(2))
            .build()
            .context("build reqwest client")?;
        let url = format!("{}/healthz", self.url());
        loop {
            self.check_alive()?;
            let last = match http.get(&url).send().await {
                Ok(r) if r.status().as_u16() == 200 => return Ok(()),
                Ok(r) => format!("status {}", r.status()),
                Err(e) => format!("error {e}"),
            };
            if started.elapsed() > START_TIMEOUT {
                bail!(
                    "node {} not healthy within {START_TIMEOUT:?} ({last}); log tail:\n{}",
                    self.opts.node_id,
                    self.log_tail(80)
                );
            }
            tokio::time::sleep(crate::POLL).await;
        }
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        self.kill();
        if std::thread::panicking() {
            self.print_log_tail();
        }
        if let Some(dir) = self.dir.take() {
            if std::env::var("CHAT_TESTS_KEEP").is_ok_and(|v| v == "1") {
                let kept = dir.keep();
                eprintln!("kept node {} dir {}", self.opts.node_id, kept.display());
            } else if std::thread::panicking() {
                eprintln!(
                    "node {} dir {} is removed; set CHAT_TESTS_KEEP=1 to keep it",
                    self.opts.node_id,
                    self.root.display()
                );
            }
        }
    }
}
