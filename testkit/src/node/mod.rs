//! One `chat-node` process under test.
//!
//! Owns: the binary lookup, the temp dir (data dir + log file), spawning with
//! ephemeral ports, waiting for `DIR/ports.json` then `GET /healthz`, SIGKILL, restart
//! on the same data dir, and printing the log tail when the test thread panics.
//! Does not own: cluster formation (see [`crate::cluster`]) or any assertion.
//!
//! Layout: this file ([`Node`], the binary lookup, `ports.json`), `opts.rs` ([`NodeOpts`]).

mod opts;

pub use opts::NodeOpts;

use crate::client::Client;
use crate::proc::{self, Signal};
use anyhow::{bail, Context, Result};
use serde_json::Value;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Project credentials every test node is started with.
pub const CLIENT_ID: &str = "test-client";
pub const CLIENT_SECRET: &str = "test-secret";

/// How long a node may take from spawn to a healthy `/healthz` (debug build, cold disk).
const START_TIMEOUT: Duration = Duration::from_secs(60);
/// Lines of log printed when a test panics.
const LOG_TAIL_LINES: usize = 200;

/// The addresses a running node reported in `ports.json`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ports {
    pub api: SocketAddr,
    pub raft: SocketAddr,
}

/// The addresses and node id (if present) in a node's `ports.json`; `None` while the file
/// is missing or incomplete.
pub fn read_ports(path: &Path) -> Option<(Ports, Option<u64>)> {
    let text = std::fs::read_to_string(path).ok()?;
    let v: Value = serde_json::from_str(&text).ok()?;
    let addr = |k: &str| v.get(k).and_then(Value::as_str)?.parse().ok();
    let ports = Ports {
        api: addr("api")?,
        raft: addr("raft")?,
    };
    Some((ports, v.get("nodeId").and_then(Value::as_u64)))
}

/// A `chat-node` child process. Killed on drop.
pub struct Node {
    opts: NodeOpts,
    dir: Option<tempfile::TempDir>,
    root: PathBuf,
    data_dir: PathBuf,
    log_path: PathBuf,
    child: Option<Child>,
    paused: bool,
    ports: Ports,
    /// Logged-in client for the current ports (reset on restart).
    client: Mutex<Option<Client>>,
}

/// Path of the debug `chat-node` binary: [`find_binary`] with the `debug` profile.
pub fn binary_path() -> PathBuf {
    find_binary(&["debug"])
}

/// `CHAT_NODE_BIN`, else the first existing `chat-node` of `profiles` (in order) in
/// `CARGO_TARGET_DIR`, then in the target dir the running executable was built into, then
/// in the workspace's `target/`; else where the first of those would be.
pub fn find_binary(profiles: &[&str]) -> PathBuf {
    if let Some(p) = std::env::var_os("CHAT_NODE_BIN") {
        return PathBuf::from(p);
    }
    let mut dirs = Vec::new();
    if let Some(t) = std::env::var_os("CARGO_TARGET_DIR") {
        dirs.push(PathBuf::from(t));
    }
    // …/<target>/<profile>/<exe> or …/<target>/<profile>/deps/<test exe>.
    if let Ok(exe) = std::env::current_exe() {
        dirs.extend(exe.ancestors().skip(2).take(2).map(Path::to_path_buf));
    }
    dirs.push(crate::workspace_root().join("target"));
    for d in &dirs {
        for profile in profiles {
            let p = d.join(profile).join("chat-node");
            if p.exists() {
                return p;
            }
        }
    }
    dirs[0]
        .join(profiles.first().copied().unwrap_or("debug"))
        .join("chat-node")
}

impl Node {
    /// Spawns a node on ephemeral ports in a fresh temp dir and waits until healthy.
    pub async fn start(opts: NodeOpts) -> Result<Node> {
        let (dir, root) = match &opts.dir {
            Some(d) => (None, d.clone()),
            None => {
                let mut b = tempfile::Builder::new();
                let prefix = format!("chat-node-{}-", opts.node_id);
                b.prefix(&prefix);
                let dir = match &opts.temp_parent {
                    Some(parent) => {
                        std::fs::create_dir_all(parent).context("create temp parent")?;
                        b.tempdir_in(parent)
                    }
                    None => b.tempdir(),
                }
                .context("create node temp dir")?;
                let root = dir.path().to_path_buf();
                (Some(dir), root)
            }
        };
        let data_dir = root.join("data");
        std::fs::create_dir_all(&data_dir).context("create data dir")?;
        let log_path = root.join("node.log");
        let mut node = Node {
            opts,
            dir,
            root,
            data_dir,
            log_path,
            child: None,
            paused: false,
            ports: Ports {
                api: SocketAddr::from(([127, 0, 0, 1], 0)),
                raft: SocketAddr::from(([127, 0, 0, 1], 0)),
            },
            client: Mutex::new(None),
        };
        if let Some(a) = node.opts.addrs {
            node.ports = a;
        }
        let zero = node.ports;
        node.spawn(zero).await?;
        Ok(node)
    }

    /// SIGKILLs the process (a stopped one is continued first, so it dies) and reaps it.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            if self.paused {
                let _ = proc::signal(child.id(), Signal::Cont);
                self.paused = false;
            }
            proc::kill_and_reap(&mut child);
            self.note(&format!("SIGKILL node {}", self.opts.node_id));
        }
        *self.client.lock().expect("client lock") = None;
    }

    /// SIGTERMs the process and waits (up to 30 s) for it to exit; SIGKILL after that.
    pub async fn terminate(&mut self) {
        self.terminate_within(Duration::from_secs(30)).await;
    }

    /// SIGTERM, up to `timeout` for a clean exit, then SIGKILL. `true` if it exited on
    /// its own (also when it was not running).
    pub async fn terminate_within(&mut self, timeout: Duration) -> bool {
        let mut clean = true;
        if let Some(mut child) = self.child.take() {
            self.note(&format!("SIGTERM node {}", self.opts.node_id));
            clean = proc::terminate(&mut child, timeout).await;
            if !clean {
                self.note(&format!("no exit within {timeout:?} of SIGTERM; SIGKILL"));
            }
        }
        *self.client.lock().expect("client lock") = None;
        clean
    }

    /// SIGSTOP: the process stays, frozen, until [`Node::resume`].
    pub fn pause(&mut self) -> Result<()> {
        let pid = self.pid().context("pause: not running")?;
        self.note("SIGSTOP");
        proc::signal(pid, Signal::Stop)?;
        self.paused = true;
        Ok(())
    }

    /// SIGCONT after [`Node::pause`].
    pub fn resume(&mut self) -> Result<()> {
        let pid = self.pid().context("resume: not running")?;
        proc::signal(pid, Signal::Cont)?;
        self.note("SIGCONT");
        self.paused = false;
        Ok(())
    }

    /// The exit status if the process exited on its own (a crash); reaps it.
    pub fn exited(&mut self) -> Option<String> {
        let status = self.child.as_mut()?.try_wait().ok()??;
        self.child = None;
        self.paused = false;
        Some(status.to_string())
    }

    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }
    pub fn is_paused(&self) -> bool {
        self.paused
    }

    /// Starts the process again on the same data dir, node id and addresses (after
    /// [`Node::kill`], a crash or [`Node::terminate`]), retrying for up to `within` while
    /// the start fails (a port still held by the previous incarnation).
    pub async fn restart_within(&mut self, within: Duration) -> Result<()> {
        let started = Instant::now();
        loop {
            match self.restart().await {
                Ok(()) => return Ok(()),
                Err(e) if started.elapsed() < within => {
                    self.note(&format!("restart failed, retrying: {e:#}"));
                    tokio::time::sleep(Duration::from_millis(200)).await;
                }
                Err(e) => return Err(e),
            }
        }
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
    /// Options for the next (re)start.
    pub fn opts_mut(&mut self) -> &mut NodeOpts {
        &mut self.opts
    }
    pub fn is_running(&self) -> bool {
        self.child.is_some()
    }
    /// The exit status once the process has ended on its own (it is then no longer running).
    pub fn try_exit_status(&mut self) -> Option<std::process::ExitStatus> {
        let status = self.child.as_mut()?.try_wait().ok()??;
        self.child = None;
        Some(status)
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
    /// The node's directory (data dir and log).
    pub fn root(&self) -> &Path {
        &self.root
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

    /// Waits up to `timeout` until the node's `appliedIndex` reaches `index` (a restarted
    /// or new node caught up); `what` names the wait in the panic message.
    pub async fn wait_applied(&self, index: u64, timeout: Duration, what: &str) {
        crate::wait_until(timeout, what, || async {
            let st = self.cluster_status().await.map_err(|e| format!("{e:#}"))?;
            let applied = crate::cluster::applied_index(&st);
            if applied >= index {
                Ok(())
            } else {
                Err(format!("applied {applied} < {index}: {st}"))
            }
        })
        .await
    }

    /// Waits up to `timeout` until the node reports exactly the voters `want` (sorted).
    pub async fn wait_voters(&self, want: &[u64], timeout: Duration, what: &str) {
        crate::wait_until(timeout, what, || async {
            let st = self.cluster_status().await.map_err(|e| format!("{e:#}"))?;
            if crate::cluster::voters(&st) == want {
                Ok(())
            } else {
                Err(st.to_string())
            }
        })
        .await
    }

    /// The last `n` lines of the node's log.
    pub fn log_tail(&self, n: usize) -> String {
        proc::log_tail(&self.log_path, n)
    }

    /// Prints the log tail to stderr (captured by the test harness, shown on failure).
    pub fn print_log_tail(&self) {
        proc::print_log_tail(&self.what(), &self.log_path, LOG_TAIL_LINES);
    }

    /// `node <id>`, in messages.
    fn what(&self) -> String {
        format!("node {}", self.opts.node_id)
    }

    fn ports_file(&self) -> PathBuf {
        self.data_dir.join("ports.json")
    }

    /// Appends a harness line to the node log, so kills and restarts show up in it.
    pub fn note(&self, what: &str) {
        proc::note(&self.log_path, &self.opts.note_label, what);
    }

    async fn spawn(&mut self, addrs: Ports) -> Result<()> {
        let bin = self.opts.bin.clone().unwrap_or_else(binary_path);
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
        std::fs::create_dir_all(&self.data_dir).context("create data dir")?;
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
            .arg(self.opts.log_level.clone().unwrap_or_else(|| {
                std::env::var("CHAT_TESTS_LOG_LEVEL").unwrap_or_else(|_| "info".into())
            }));
        if self.opts.join {
            cmd.arg("--join");
        }
        if let Some(n) = self.opts.snapshot_threshold {
            cmd.arg("--snapshot-threshold").arg(n.to_string());
        }
        cmd.args(&self.opts.extra_args)
            .envs(self.opts.env.iter().map(|(k, v)| (k, v)))
            .env("RUST_BACKTRACE", "1");
        let child = proc::spawn_logged(cmd, &self.log_path, &self.opts.note_label)?;
        self.child = Some(child);
        self.paused = false;
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
            if let Some((ports, id)) = read_ports(&path) {
                if let Some(id) = id {
                    if id != self.opts.node_id {
                        bail!("ports.json has nodeId {id}, expected {}", self.opts.node_id);
                    }
                }
                return Ok(ports);
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
        let dir = self.dir.take();
        proc::dropped(
            &self.what(),
            &self.log_path,
            LOG_TAIL_LINES,
            dir,
            self.opts.keep,
        );
    }
}
