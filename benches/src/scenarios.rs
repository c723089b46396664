//! The seven scenarios of issue 5. Each returns one [`Record`]: our figure, the reference
//! measured in the same run, the target and whether it was met, and the details.

use crate::api::{self, concurrently, post_body, post_path, Api};
use crate::load::{closed_loop, open_loop, start_soon, warm_count, LoadResult};
use crate::measure::Deliveries;
use crate::procs::{cluster_status, ChatCluster, ChatNode, EchoProc, Env};
use crate::reference::{self, PushLoad};
use crate::report::Record;
use crate::util::{files_size, quantile_ms, round, rss_kib};
use crate::wsclient::{self, Creds, End, Ws};
use anyhow::{anyhow, bail, Context, Result};
use bytes::Bytes;
use futures::{SinkExt, StreamExt};
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::net::{SocketAddr, ToSocketAddrs};
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio_tungstenite::tungstenite::Message;

pub const SCENARIOS: &[&str] = &[
    "post-throughput",
    "post-latency",
    "e2e-delivery",
    "fanout",
    "connections",
    "failover",
    "catch-up",
];

/// Every size and duration a run uses (full scale by default, `--quick` shrinks it).
#[derive(Clone, Debug)]
pub struct Scale {
    pub quick: bool,
    pub clients: usize,
    pub warmup: Duration,
    pub duration: Duration,
    pub msg_size: usize,
    pub rooms: usize,
    pub latency_rate: Option<f64>,
    pub e2e_subscribers: usize,
    pub e2e_rate: f64,
    pub fanout_subscribers: usize,
    pub fanout_rate: f64,
    pub sessions: usize,
    pub failover_rounds: usize,
    pub failover_clients: usize,
    pub catchup_messages: u64,
}

impl Scale {
    pub fn new(quick: bool) -> Scale {
        if quick {
            Scale {
                quick,
                clients: 256,
                warmup: Duration::from_secs(1),
                duration: Duration::from_secs(3),
                msg_size: 128,
                rooms: 16,
                latency_rate: None,
                e2e_subscribers: 1000,
                e2e_rate: 2000.0,
                fanout_subscribers: 1000,
                fanout_rate: 200.0,
                sessions: 2000,
                failover_rounds: 3,
                failover_clients: 16,
                catchup_messages: 20_000,
            }
        } else {
            Scale {
                quick,
                clients: 256,
                warmup: Duration::from_secs(3),
                duration: Duration::from_secs(20),
                msg_size: 128,
                rooms: 16,
                latency_rate: None,
                e2e_subscribers: 1000,
                e2e_rate: 2000.0,
                fanout_subscribers: 10_000,
                fanout_rate: 20.0,
                sessions: 50_000,
                failover_rounds: 5,
                failover_clients: 32,
                catchup_messages: 1_000_000,
            }
        }
    }

    /// [`Scale::describe`] of a timed run (with its warmup and measured duration).
    fn describe_timed(&self, mut extra: Value) -> Value {
        extra["warmup_s"] = json!(self.warmup.as_secs_f64());
        extra["duration_s"] = json!(self.duration.as_secs_f64());
        self.describe(extra)
    }

    fn mode(&self) -> &'static str {
        if self.quick {
            "quick"
        } else {
            "full"
        }
    }

    fn describe(&self, extra: Value) -> Value {
        let mut v = json!({
            "mode": self.mode(),
            "message_metadata_bytes": self.msg_size,
        });
        if let (Value::Object(m), Value::Object(e)) = (&mut v, extra) {
            m.extend(e);
        }
        v
    }
}

/// Everything a scenario needs, and figures scenarios pass on to later ones.
pub struct Ctx {
    pub env: Env,
    pub scale: Scale,
    /// API URLs of an existing cluster to target instead of starting one.
    pub targets: Vec<String>,
    pub no_reference: bool,
    pub node_pid: Option<u32>,
    /// Posts go to the leader only (default) or round-robin to every node.
    pub post_to_leader: bool,
    /// Max sustained post rate measured by post-throughput, by node count.
    pub max_rate: BTreeMap<u64, f64>,
    /// The open-file limit in force (inherited by the processes started).
    pub nofile: u64,
}

impl Ctx {
    /// Nodes of the cluster a scenario loads: `started` when the generator starts it, else the
    /// number of target URLs.
    fn cluster_size(&self, started: u64) -> u64 {
        if self.targets.is_empty() {
            started
        } else {
            self.targets.len() as u64
        }
    }
}

/// The chat cluster under test: started here, or an existing one (`--target`).
pub struct Chat {
    pub local: Option<ChatCluster>,
    pub api: Api,
    pub urls: Vec<String>,
}

impl Chat {
    pub async fn open(ctx: &Ctx, nodes: u64) -> Result<Chat> {
        if ctx.targets.is_empty() {
            let c = ChatCluster::start(&ctx.env, nodes, true).await?;
            let api = c.api.clone();
            let urls = c.urls();
            Ok(Chat {
                local: Some(c),
                api,
                urls,
            })
        } else {
            let api =
                Api::login(&ctx.targets[0], &ctx.env.client_id, &ctx.env.client_secret).await?;
            Ok(Chat {
                local: None,
                api,
                urls: ctx.targets.clone(),
            })
        }
    }

    /// The URL of the current leader (the first URL if it cannot be told).
    pub async fn leader_url(&self) -> String {
        let Ok(st) = self.api.get_ok("/admin/cluster").await else {
            return self.urls[0].clone();
        };
        let Some(leader) = st["leaderId"].as_u64() else {
            return self.urls[0].clone();
        };
        for u in &self.urls {
            if let Ok(s) = self.api.at(u).get_ok("/admin/cluster").await {
                if s["nodeId"].as_u64() == Some(leader) {
                    return u.clone();
                }
            }
        }
        self.urls[0].clone()
    }

    /// Where posts go: the leader, or every node.
    pub async fn post_urls(&self, leader_only: bool) -> Vec<String> {
        if leader_only {
            vec![self.leader_url().await]
        } else {
            self.urls.clone()
        }
    }

    pub fn ws_addrs(&self) -> Result<Vec<SocketAddr>> {
        self.urls
            .iter()
            .map(|u| {
                let hp = u
                    .trim_start_matches("http://")
                    .trim_start_matches("https://")
                    .trim_end_matches('/');
                hp.to_socket_addrs()
                    .ok()
                    .and_then(|mut a| a.next())
                    .with_context(|| format!("cannot resolve {hp}"))
            })
            .collect()
    }
}

fn unique(prefix: &str) -> String {
    format!(
        "{prefix}{}",
        &uuid::Uuid::new_v4().simple().to_string()[..8]
    )
}

#[allow(clippy::too_many_arguments)]
/// Closed-loop posts: worker `w` posts as user `u<w>` to room `w % rooms` via `urls[w % n]`.
async fn post_closed(
    api: &Api,
    urls: &[String],
    ns: &str,
    rooms: &[String],
    workers: usize,
    warmup: Duration,
    duration: Duration,
    body: Bytes,
) -> LoadResult {
    let api = api.fresh_pool();
    let targets: Arc<Vec<(Api, String)>> = Arc::new(
        (0..workers)
            .map(|w| {
                (
                    api.at(&urls[w % urls.len()]),
                    post_path(ns, &rooms[w % rooms.len()], &format!("u{w}")),
                )
            })
            .collect(),
    );
    closed_loop(workers, warmup, duration, move |w, _| {
        let targets = targets.clone();
        let body = body.clone();
        async move {
            let (api, path) = &targets[w];
            send_post(api, path, body).await
        }
    })
    .await
}

async fn send_post(api: &Api, path: &str, body: Bytes) -> Result<(), String> {
    let r = api
        .post_bytes(path, body)
        .send()
        .await
        .map_err(|e| format!("{e}"))?;
    let status = r.status().as_u16();
    let text = r.bytes().await.map_err(|e| e.to_string())?;
    if status != 200 {
        return Err(format!("{status}: {}", String::from_utf8_lossy(&text)));
    }
    Ok(())
}

fn table_row(
    name: &str,
    ours: Option<f64>,
    reference: Option<(f64, &str)>,
    unit: &str,
    target: &str,
    met: Option<bool>,
) -> Value {
    json!({
        "name": name,
        "ours": ours.map(|x| round(x, 3)),
        "reference": reference.map(|r| round(r.0, 3)),
        "reference_name": reference.map(|r| r.1),
        "ratio": match (ours, reference) { (Some(o), Some((r, _))) if r > 0.0 => Some(round(o / r, 3)), _ => None },
        "unit": unit,
        "target": target,
        "met": met,
    })
}

// ---------------------------------------------------------------- post-throughput

pub async fn post_throughput(ctx: &mut Ctx) -> Result<Record> {
    let s = ctx.scale.clone();
    let mut rec = Record::new(
        "post-throughput",
        "posts/s",
        "higher",
        "≥ 30,000/s (1 node), ≥ 15,000/s (3 nodes), ≥ 0.5× JetStream sync=always",
    );
    let metadata = crate::util::metadata_of(s.msg_size);
    let body = post_body(&metadata);
    let variants: Vec<u64> = if ctx.targets.is_empty() {
        vec![1, 3]
    } else {
        vec![ctx.targets.len() as u64]
    };
    let mut ours: BTreeMap<u64, LoadResult> = BTreeMap::new();
    for &n in &variants {
        eprintln!("[post-throughput] {n}-node cluster, {} clients", s.clients);
        let chat = Chat::open(ctx, n).await?;
        let ns = unique("tp");
        let rooms = api::setup_rooms(&chat.api, &ns, None, s.rooms).await?;
        let urls = chat.post_urls(ctx.post_to_leader).await;
        let r = post_closed(
            &chat.api,
            &urls,
            &ns,
            &rooms,
            s.clients,
            s.warmup,
            s.duration,
            body.clone(),
        )
        .await;
        eprintln!(
            "[post-throughput] {n} node(s): {:.0} posts/s ({} errors)",
            r.rate(),
            r.errors
        );
        ctx.max_rate.insert(n, r.rate());
        ours.insert(n, r);
    }
    let mut refs: BTreeMap<String, f64> = BTreeMap::new();
    let mut ref_details = Vec::new();
    if !ctx.no_reference {
        for (n, sync) in [(1usize, false), (1, true), (3, false), (3, true)] {
            eprintln!("[post-throughput] reference JetStream R{n} sync_always={sync}");
            let (label, r) = reference::js_throughput(
                &ctx.env,
                n,
                sync,
                s.clients,
                s.warmup,
                s.duration,
                body.clone(),
            )
            .await?;
            refs.insert(label.clone(), r.rate());
            let mut d = r.summary();
            d["name"] = json!(label);
            ref_details.push(d);
        }
        let dir = ctx.env.tempdir("bench-rocksdb-")?;
        let dur = s.duration.min(Duration::from_secs(10));
        let batch = s.clients;
        let size = s.msg_size;
        let path = dir.path().to_path_buf();
        let rocks =
            tokio::task::spawn_blocking(move || reference::rocksdb_synced(&path, batch, dur, size))
                .await??;
        rec.detail("rocksdb_reference", rocks);
    }
    rec.detail("jetstream_references", json!(ref_details));
    let r1 = refs.get("JetStream R1 sync_interval=always").copied();
    let r3 = refs.get("JetStream R3 sync_interval=always").copied();
    let mut rows = Vec::new();
    let mut met = true;
    let mut per = serde_json::Map::new();
    for (n, r) in &ours {
        let rate = r.rate();
        let (abs_target, reference) = match n {
            1 => (
                30_000.0,
                r1.map(|v| (v, "JetStream R1 sync_interval=always")),
            ),
            _ => (
                15_000.0,
                r3.map(|v| (v, "JetStream R3 sync_interval=always")),
            ),
        };
        let ok_abs = rate >= abs_target;
        let ok_ratio = reference.map(|(v, _)| rate >= 0.5 * v);
        let m = ok_abs && ok_ratio.unwrap_or(true) && r.errors == 0;
        met &= m;
        rows.push(table_row(
            &format!("{n} node(s)"),
            Some(rate),
            reference,
            "posts/s",
            &format!("≥ {abs_target:.0}/s and ≥ 0.5× ref"),
            Some(m),
        ));
        per.insert(format!("nodes_{n}"), r.summary());
    }
    for (label, v) in &refs {
        rows.push(json!({"name": format!("ref: {label}"), "ours": v, "unit": "msgs/s"}));
    }
    if let Some(rocks) = rec.details.get("rocksdb_reference").cloned() {
        rows.push(json!({"name": "ref: RocksDB synced WAL", "ours": rocks["posts_per_s"], "unit": "posts/s"}));
    }
    rec.detail("ours", Value::Object(per));
    rec.detail("table_rows", json!(rows));
    rec.detail(
        "posts_sent_to",
        json!(if ctx.post_to_leader {
            "leader"
        } else {
            "every node, round-robin"
        }),
    );
    let first = variants[0];
    rec.ours = ours.get(&first).map(|r| round(r.rate(), 1));
    if ctx.no_reference {
        rec.with_reference("none (--no-reference)", None);
    } else if first == 1 {
        rec.with_reference("JetStream R1 sync_interval=always", r1);
    } else {
        rec.with_reference("JetStream R3 sync_interval=always", r3);
    }
    rec.met = Some(met);
    rec.scale = s.describe_timed(json!({"clients": s.clients, "rooms": s.rooms, "node_counts": variants,
        "note": "`ours` is the first node count (1 node when the generator starts the cluster); the 3-node figure is in details.ours.nodes_3 and the table rows"}));
    Ok(rec)
}

// ---------------------------------------------------------------- post-latency

pub async fn post_latency(ctx: &mut Ctx) -> Result<Record> {
    let s = ctx.scale.clone();
    let mut rec = Record::new(
        "post-latency",
        "ms (p99)",
        "lower",
        "p99 ≤ 20 ms on 3 nodes at 50% of the max rate",
    );
    let n = ctx.cluster_size(3);
    let chat = Chat::open(ctx, n).await?;
    let ns = unique("lat");
    let rooms = api::setup_rooms(&chat.api, &ns, None, s.rooms).await?;
    let urls = chat.post_urls(ctx.post_to_leader).await;
    let metadata = crate::util::metadata_of(s.msg_size);
    let body = post_body(&metadata);
    let (max, max_source) = match (s.latency_rate, ctx.max_rate.get(&n)) {
        (Some(r), _) => (r * 2.0, "--latency-rate"),
        (None, Some(m)) => (*m, "post-throughput in this run"),
        (None, None) => {
            eprintln!("[post-latency] measuring the max rate first (closed loop)");
            let r = post_closed(
                &chat.api,
                &urls,
                &ns,
                &rooms,
                s.clients,
                s.warmup,
                (s.duration / 2).max(Duration::from_secs(2)),
                body.clone(),
            )
            .await;
            ctx.max_rate.insert(n, r.rate());
            (r.rate(), "closed-loop run on this cluster just before")
        }
    };
    let rate = (max * 0.5).max(1.0);
    eprintln!("[post-latency] open loop at {rate:.0} posts/s (max {max:.0})");
    let api = chat.api.fresh_pool();
    let targets: Arc<Vec<(Api, String)>> = Arc::new(
        (0..s.clients)
            .map(|w| {
                (
                    api.at(&urls[w % urls.len()]),
                    post_path(&ns, &rooms[w % rooms.len()], &format!("u{w}")),
                )
            })
            .collect(),
    );
    let b = body.clone();
    let ours = open_loop(
        start_soon(),
        rate,
        s.warmup,
        s.duration,
        Duration::from_secs(5),
        s.clients,
        move |w, _| {
            let targets = targets.clone();
            let body = b.clone();
            async move {
                let (api, path) = &targets[w];
                send_post(api, path, body).await
            }
        },
    )
    .await;
    drop(chat);
    rec.ours = quantile_ms(&ours.hist, 0.99);
    rec.detail("ours", ours.summary());
    let mut reference = None;
    if !ctx.no_reference {
        eprintln!("[post-latency] reference JetStream R3 sync_interval=always at {rate:.0}/s");
        let (label, r) = reference::js_latency(
            &ctx.env, 3, true, rate, s.clients, s.warmup, s.duration, body,
        )
        .await?;
        reference = Some((label, quantile_ms(&r.hist, 0.99)));
        rec.detail("reference", r.summary());
    }
    match reference {
        Some((label, v)) => rec.with_reference(&format!("{label} publish ack p99"), v),
        None => rec.with_reference("none (--no-reference)", None),
    }
    rec.met = Some(rec.ours.is_some_and(|p| p <= 20.0) && ours.errors == 0 && ours.dropped == 0);
    rec.scale = s.describe_timed(
        json!({"nodes": n, "rate_per_s": round(rate, 1), "max_rate_per_s": round(max, 1),
        "max_rate_from": max_source, "workers": s.clients}),
    );
    Ok(rec)
}

// ---------------------------------------------------------------- sessions

/// Opens a bound session per user (`users[i]` on `addrs[i % n]`), `limit` at a time.
async fn open_sessions(
    addrs: &[SocketAddr],
    creds: &Creds,
    gw: &str,
    users: &[String],
    limit: usize,
) -> (Vec<(usize, Ws)>, usize, Option<String>) {
    let results: Vec<(usize, Result<Ws>)> =
        futures::stream::iter(users.iter().enumerate().map(|(i, u)| {
            let addr = addrs[i % addrs.len()];
            let creds = creds.clone();
            let gw = gw.to_owned();
            let u = u.clone();
            async move { (i, wsclient::open_session(addr, i, &creds, &gw, &u).await) }
        }))
        .buffer_unordered(limit)
        .collect()
        .await;
    let mut ok = Vec::new();
    let mut failed = 0;
    let mut first = None;
    for (i, r) in results {
        match r {
            Ok(ws) => ok.push((i, ws)),
            Err(e) => {
                failed += 1;
                first.get_or_insert_with(|| format!("{e:#}"));
            }
        }
    }
    (ok, failed, first)
}

/// Spawns a notification reader per session, feeding post `e<seq>` deliveries into `dl`.
fn spawn_readers(
    sessions: Vec<(usize, Ws)>,
    dl: &Arc<Deliveries>,
    stop: &tokio::sync::watch::Receiver<bool>,
) -> Vec<tokio::task::JoinHandle<End>> {
    sessions
        .into_iter()
        .map(|(i, ws)| {
            let dl = dl.clone();
            tokio::spawn(wsclient::read_notifications(
                ws,
                stop.clone(),
                move |text, at| match wsclient::poster_of(text)
                    .and_then(|u| u.strip_prefix('e'))
                    .and_then(|s| s.parse().ok())
                {
                    Some(seq) => dl.delivered(i, seq, at),
                    None => {
                        dl.unknown.fetch_add(1, Ordering::Relaxed);
                    }
                },
            ))
        })
        .collect()
}

async fn collect_ends(readers: Vec<tokio::task::JoinHandle<End>>) -> Value {
    let mut closed: BTreeMap<String, u64> = BTreeMap::new();
    for r in readers {
        match r.await {
            Ok(End::Stopped) => {}
            Ok(End::Closed(code, reason)) => {
                *closed.entry(format!("{code} {reason}")).or_default() += 1
            }
            Ok(End::Error(e)) => *closed.entry(format!("error {e}")).or_default() += 1,
            Err(e) => *closed.entry(format!("task {e}")).or_default() += 1,
        }
    }
    json!(closed)
}

/// The push run shared by e2e-delivery and fanout: subscribers bound over `chat`'s nodes,
/// posts at `p.rate` as users `e<seq>` to room `seq % rooms`.
async fn push_run(ctx: &Ctx, chat: &Chat, p: PushLoad, sub_nodes: &[SocketAddr]) -> Result<Value> {
    let ns = unique("push");
    let gw = unique("gw");
    let rooms = api::setup_rooms(&chat.api, &ns, Some(&gw), p.rooms).await?;
    let users: Vec<String> = (0..p.subscribers).map(|i| format!("s{i}")).collect();
    let mut subs_per_room = vec![0usize; p.rooms];
    for i in 0..p.subscribers {
        subs_per_room[i % p.rooms] += 1;
    }
    let t = Instant::now();
    concurrently(
        users.iter().enumerate().collect::<Vec<_>>(),
        32,
        |(i, u)| {
            let api = chat.api.clone();
            let (ns, room, u) = (ns.clone(), rooms[i % p.rooms].clone(), u.clone());
            async move { api::subscribe(&api, &ns, &room, &u).await }
        },
    )
    .await?;
    let subscribe_s = t.elapsed().as_secs_f64();
    let creds = Creds {
        client_id: chat.api.client_id().to_owned(),
        project_token: chat.api.token().to_owned(),
    };
    let t = Instant::now();
    let (sessions, failed, first_err) = open_sessions(sub_nodes, &creds, &gw, &users, 128).await;
    let sessions_s = t.elapsed().as_secs_f64();
    if failed > 0 {
        bail!(
            "{failed} of {} sessions failed: {}",
            users.len(),
            first_err.unwrap_or_default()
        );
    }
    eprintln!(
        "[push] {} subscribers bound on {} node(s) (subscribe {subscribe_s:.1}s, sessions {sessions_s:.1}s)",
        p.subscribers,
        sub_nodes.len()
    );
    let t0 = start_soon() + Duration::from_millis(500);
    let total = ((p.warmup + p.duration).as_secs_f64() * p.rate).floor() as u64;
    let dl = Arc::new(Deliveries::new(
        t0,
        p.rate,
        warm_count(p.warmup, p.rate),
        total,
        p.rooms,
    ));
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let readers = spawn_readers(sessions, &dl, &stop_rx);
    let urls = chat.post_urls(ctx.post_to_leader).await;
    let api = chat.api.fresh_pool();
    let apis: Arc<Vec<Api>> = Arc::new(urls.iter().map(|u| api.at(u)).collect());
    let rooms = Arc::new(rooms);
    let body = post_body(&crate::util::metadata_of(ctx.scale.msg_size));
    let dl2 = dl.clone();
    let ns2 = ns.clone();
    let load = open_loop(
        t0,
        p.rate,
        p.warmup,
        p.duration,
        Duration::from_secs(5),
        p.workers,
        move |_, seq| {
            let apis = apis.clone();
            let rooms = rooms.clone();
            let body = body.clone();
            let dl = dl2.clone();
            let ns = ns2.clone();
            async move {
                let room = seq as usize % rooms.len();
                let api = &apis[seq as usize % apis.len()];
                send_post(api, &post_path(&ns, &rooms[room], &format!("e{seq}")), body).await?;
                dl.acked(seq, room);
                Ok(())
            }
        },
    )
    .await;
    let spr = subs_per_room.clone();
    dl.drain(
        || dl.expected(&spr),
        Duration::from_secs(3),
        Duration::from_secs(30),
    )
    .await;
    let _ = stop_tx.send(true);
    let closed = collect_ends(readers).await;
    let mut v = dl.summary(&subs_per_room);
    v["posts"] = load.summary();
    v["connections_closed_by_server"] = closed;
    v["setup"] = json!({"subscribe_s": round(subscribe_s, 2), "sessions_s": round(sessions_s, 2)});
    Ok(v)
}

fn p99_of(v: &Value) -> Option<f64> {
    v["latency_from_intended_send"]["p99_ms"].as_f64()
}

// ---------------------------------------------------------------- e2e-delivery

pub async fn e2e_delivery(ctx: &mut Ctx) -> Result<Record> {
    let s = ctx.scale.clone();
    let mut rec = Record::new(
        "e2e-delivery",
        "ms (p99)",
        "lower",
        "p99 ≤ 25 ms (2,000 posts/s, 1,000 subscribers, 3 nodes), none missing",
    );
    let n = ctx.cluster_size(3);
    let chat = Chat::open(ctx, n).await?;
    let rooms = s.e2e_subscribers.div_ceil(10).max(1);
    let p = PushLoad {
        subscribers: s.e2e_subscribers,
        rooms,
        rate: s.e2e_rate,
        warmup: s.warmup,
        duration: s.duration,
        workers: s.clients,
        payload_size: post_body(&crate::util::metadata_of(s.msg_size)).len(),
    };
    eprintln!(
        "[e2e-delivery] {} subscribers over {n} nodes, {rooms} rooms, {} posts/s",
        p.subscribers, p.rate
    );
    let addrs = chat.ws_addrs()?;
    let ours = push_run(ctx, &chat, p, &addrs).await?;
    drop(chat);
    rec.ours = p99_of(&ours);
    let missing = ours["missing"].as_u64().unwrap_or(u64::MAX);
    rec.met = Some(
        rec.ours.is_some_and(|x| x <= 25.0) && missing == 0 && ours["posts"]["errors"] == json!(0),
    );
    rec.detail("ours", ours);
    if ctx.no_reference {
        rec.with_reference("none (--no-reference)", None);
    } else {
        eprintln!("[e2e-delivery] reference JetStream R3 publish → consume");
        let r = reference::js_e2e(&ctx.env, p).await?;
        rec.with_reference(
            "JetStream R3 sync_interval=always publish→consume p99",
            p99_of(&r),
        );
        rec.detail("reference", r);
    }
    rec.scale = s.describe_timed(
        json!({"nodes": n, "subscribers": p.subscribers, "rooms": rooms,
        "subscribers_per_room": 10, "posts_per_s": p.rate, "post_workers": p.workers,
        "latency_from": "intended send time of the post (includes its acknowledgement)"}),
    );
    Ok(rec)
}

// ---------------------------------------------------------------- fanout

/// The size of a chat post notification frame as the node sends it (for the reference).
fn notification_frame_size() -> usize {
    r#"{"type":"notification","body":{"issuer":"Gs2Chat:Post","subject":"Gs2Chat:Post","payload":"{\"namespaceName\":\"push1a2b3c4d\",\"roomName\":\"room-0\",\"userId\":\"e12345\",\"category\":0,\"createdAt\":1763760000000}"}}"#.len()
}

pub async fn fanout(ctx: &mut Ctx) -> Result<Record> {
    let s = ctx.scale.clone();
    let mut rec = Record::new(
        "fanout",
        "deliveries/s",
        "higher",
        "≥ 150,000/s with 10,000 subscribers on 1 node, none missing",
    );
    let chat = Chat::open(ctx, 1).await?;
    let p = PushLoad {
        subscribers: s.fanout_subscribers,
        rooms: 1,
        rate: s.fanout_rate,
        warmup: s.warmup,
        duration: s.duration,
        workers: 16,
        payload_size: notification_frame_size(),
    };
    eprintln!(
        "[fanout] {} subscribers on one node, {} posts/s ({} deliveries/s offered)",
        p.subscribers,
        p.rate,
        p.rate * p.subscribers as f64
    );
    let addrs = chat.ws_addrs()?;
    let ours = push_run(ctx, &chat, p, &addrs[..1]).await?;
    drop(chat);
    rec.ours = ours["deliveries_per_s"].as_f64();
    let missing = ours["missing"].as_u64().unwrap_or(u64::MAX);
    rec.met = Some(rec.ours.is_some_and(|x| x >= 150_000.0) && missing == 0);
    rec.detail("ours", ours);
    if ctx.no_reference {
        rec.with_reference("none (--no-reference)", None);
    } else {
        eprintln!("[fanout] reference NATS core fan-out");
        let r = reference::nats_fanout(&ctx.env, p).await?;
        rec.with_reference(
            "NATS core fan-out deliveries/s",
            r["deliveries_per_s"].as_f64(),
        );
        rec.detail("reference", r);
    }
    rec.scale = s.describe_timed(json!({"subscribers": p.subscribers, "posts_per_s": p.rate,
        "offered_deliveries_per_s": p.rate * p.subscribers as f64}));
    Ok(rec)
}

// ---------------------------------------------------------------- connections

pub async fn connections(ctx: &mut Ctx) -> Result<Record> {
    let s = ctx.scale.clone();
    // Each session is a file descriptor in the node and one in the generator.
    let fd_cap = (ctx.nofile as usize).saturating_sub(1000).max(1);
    let n = s.sessions.min(fd_cap);
    if n < s.sessions {
        eprintln!(
            "[connections] the open-file limit ({}) allows only {n} of the {} sessions asked for \
             (raise it: `ulimit -n`, or run as root with CAP_SYS_RESOURCE); met is judged on the \
             projection",
            ctx.nofile, s.sessions
        );
    }
    let mut rec = Record::new(
        "connections",
        "MiB RSS",
        "lower",
        "50,000 idle bound sessions on 1 node within 1 GiB RSS",
    );
    let chat = Chat::open(ctx, 1).await?;
    let pid = match &chat.local {
        Some(c) => c.nodes[0].pid(),
        None => ctx.node_pid,
    };
    let gw = unique("gw");
    api::create_gateway_ns(&chat.api, &gw).await?;
    let creds = Creds {
        client_id: chat.api.client_id().to_owned(),
        project_token: chat.api.token().to_owned(),
    };
    let addr = chat.ws_addrs()?[0];
    let before = pid.and_then(|p| rss_kib(p).ok());
    eprintln!("[connections] opening {n} sessions");
    let users: Vec<String> = (0..n).map(|i| format!("c{i}")).collect();
    let t = Instant::now();
    let (sessions, failed, first_err) = open_sessions(&[addr], &creds, &gw, &users, 256).await;
    let open_s = t.elapsed().as_secs_f64();
    tokio::time::sleep(Duration::from_secs(1)).await;
    let after = pid.and_then(|p| rss_kib(p).ok());
    let established = sessions.len();
    eprintln!(
        "[connections] {established} sessions in {open_s:.1}s; RSS {before:?} → {after:?} KiB"
    );
    drop(sessions);
    drop(chat);
    let mib = |k: u64| k as f64 / 1024.0;
    rec.ours = after.map(|a| round(mib(a), 1));
    let per_session_kib = match (before, after) {
        (Some(b), Some(a)) if established > 0 => {
            Some(a.saturating_sub(b) as f64 / established as f64)
        }
        _ => None,
    };
    let projected = match (before, per_session_kib) {
        (Some(b), Some(p)) => Some(mib(b) + p * 50_000.0 / 1024.0),
        _ => None,
    };
    rec.met = match (after, projected) {
        (None, _) => None,
        (Some(a), _) if n >= 50_000 => Some(established >= 50_000 && mib(a) <= 1024.0),
        (Some(_), Some(p)) => Some(failed == 0 && p <= 1024.0),
        _ => None,
    };
    rec.detail(
        "ours",
        json!({"sessions_requested": n, "sessions_established": established, "failed": failed,
               "first_error": first_err, "open_s": round(open_s, 2),
               "rss_before_mib": before.map(|b| round(mib(b), 1)),
               "rss_after_mib": after.map(|a| round(mib(a), 1)),
               "per_session_kib": per_session_kib.map(|x| round(x, 2)),
               "projected_rss_at_50000_mib": projected.map(|x| round(x, 1)),
               "met_judged_on": if n >= 50_000 { "measured RSS at 50,000 sessions" } else { "projection to 50,000 sessions from the measured per-session growth" }}),
    );
    if ctx.no_reference {
        rec.with_reference("none (--no-reference)", None);
    } else {
        eprintln!("[connections] reference: tokio-tungstenite echo server, {n} connections");
        let echo = EchoProc::start(&ctx.env).await?;
        let epid = echo.pid().context("echo pid")?;
        let eb = rss_kib(epid).ok();
        let conns: Vec<Result<Ws>> = futures::stream::iter((0..n).map(|i| {
            let addr = echo.addr;
            async move {
                let mut ws = wsclient::connect(addr, Some(wsclient::source_ip(i))).await?;
                for _ in 0..2 {
                    ws.send(Message::Text("{\"hello\":true}".into())).await?;
                    match ws.next().await {
                        Some(Ok(_)) => {}
                        other => bail!("echo: {other:?}"),
                    }
                }
                Ok(ws)
            }
        }))
        .buffer_unordered(256)
        .collect()
        .await;
        let ok = conns.iter().filter(|c| c.is_ok()).count();
        tokio::time::sleep(Duration::from_secs(1)).await;
        let ea = rss_kib(epid).ok();
        drop(conns);
        drop(echo);
        rec.with_reference(
            "tokio-tungstenite echo server RSS at the same connection count",
            ea.map(|a| round(mib(a), 1)),
        );
        rec.detail(
            "reference",
            json!({"connections": ok, "rss_before_mib": eb.map(|b| round(mib(b), 1)),
                   "rss_after_mib": ea.map(|a| round(mib(a), 1)),
                   "per_connection_kib": match (eb, ea) { (Some(b), Some(a)) if ok > 0 => Some(round(a.saturating_sub(b) as f64 / ok as f64, 2)), _ => None }}),
        );
    }
    rec.scale = s.describe(json!({"sessions": n, "sessions_asked": s.sessions,
        "capped_by_open_file_limit": (n < s.sessions).then_some(ctx.nofile)}));
    Ok(rec)
}

// ---------------------------------------------------------------- failover

pub async fn failover(ctx: &mut Ctx) -> Result<Record> {
    let s = ctx.scale.clone();
    let mut rec = Record::new(
        "failover",
        "ms (median)",
        "lower",
        "kill -9 leader → first write: ≤ 1 s median, ≤ 2 s max",
    );
    rec.with_reference("none", None);
    if !ctx.targets.is_empty() {
        rec.detail(
            "skipped",
            json!(
                "failover kills processes: needs a cluster started by the generator (no --target)"
            ),
        );
        return Ok(rec);
    }
    let mut chat = Chat::open(ctx, 3).await?;
    let ns = unique("fo");
    let rooms = api::setup_rooms(&chat.api, &ns, None, 4).await?;
    let cluster = chat.local.as_mut().expect("local cluster");
    let urls = cluster.urls();
    let base = Instant::now();
    let now_ns = move || base.elapsed().as_nanos() as u64;
    let alive: Arc<Vec<AtomicBool>> =
        Arc::new(urls.iter().map(|_| AtomicBool::new(true)).collect());
    let kill_at = Arc::new(AtomicU64::new(u64::MAX));
    let first_ok = Arc::new(AtomicU64::new(u64::MAX));
    // First acknowledgement after the kill of any request, even one sent before it.
    let first_any = Arc::new(AtomicU64::new(u64::MAX));
    let stop = Arc::new(AtomicBool::new(false));
    let oks = Arc::new(AtomicU64::new(0));
    let errs = Arc::new(AtomicU64::new(0));
    let chat_api = chat.api.clone();
    let api = chat.api.with_timeout(Duration::from_secs(3));
    let body = post_body(&crate::util::metadata_of(s.msg_size));
    let mut workers = Vec::new();
    for w in 0..s.failover_clients {
        let apis: Vec<Api> = urls.iter().map(|u| api.at(u)).collect();
        let path = post_path(&ns, &rooms[w % rooms.len()], &format!("u{w}"));
        let (alive, kill_at, first_ok, first_any, stop, oks, errs, body) = (
            alive.clone(),
            kill_at.clone(),
            first_ok.clone(),
            first_any.clone(),
            stop.clone(),
            oks.clone(),
            errs.clone(),
            body.clone(),
        );
        workers.push(tokio::spawn(async move {
            let mut k = w;
            while !stop.load(Ordering::Relaxed) {
                let n = apis.len();
                let mut idx = k % n;
                for _ in 0..n {
                    if alive[idx].load(Ordering::Relaxed) {
                        break;
                    }
                    idx = (idx + 1) % n;
                }
                k += 1;
                let sent = now_ns();
                match send_post(&apis[idx], &path, body.clone()).await {
                    Ok(()) => {
                        oks.fetch_add(1, Ordering::Relaxed);
                        let ka = kill_at.load(Ordering::SeqCst);
                        if ka != u64::MAX {
                            let done = now_ns();
                            first_any.fetch_min(done, Ordering::SeqCst);
                            if sent >= ka {
                                first_ok.fetch_min(done, Ordering::SeqCst);
                            }
                        }
                    }
                    Err(_) => {
                        errs.fetch_add(1, Ordering::Relaxed);
                        tokio::time::sleep(Duration::from_millis(10)).await;
                    }
                }
            }
        }));
    }
    let mut times_ms = Vec::new();
    let mut rounds = Vec::new();
    for round_no in 0..s.failover_rounds {
        cluster.wait_agreement(Duration::from_secs(60)).await?;
        let before = oks.load(Ordering::Relaxed);
        tokio::time::sleep(Duration::from_secs(1)).await;
        if oks.load(Ordering::Relaxed) == before {
            bail!("no successful write in the second before round {round_no}");
        }
        let leader = cluster.wait_leader(Duration::from_secs(30)).await?;
        let idx = cluster
            .nodes
            .iter()
            .position(|n| n.id == leader)
            .context("leader index")?;
        alive[idx].store(false, Ordering::SeqCst);
        first_ok.store(u64::MAX, Ordering::SeqCst);
        first_any.store(u64::MAX, Ordering::SeqCst);
        let ka = now_ns();
        kill_at.store(ka, Ordering::SeqCst);
        cluster.node_mut(leader).kill();
        // A prober sends a new post every 10 ms after the kill, not waiting for earlier ones,
        // so the first write is not delayed by load clients stuck in requests sent before it.
        let probe_api = chat_api.with_timeout(Duration::from_secs(10));
        let survivors: Vec<Api> = urls
            .iter()
            .enumerate()
            .filter(|(i, _)| *i != idx)
            .map(|(_, u)| probe_api.at(u))
            .collect();
        let probe_path = post_path(&ns, &rooms[0], "prober");
        let mut new_leader_ms = None;
        let started = Instant::now();
        let mut k = 0usize;
        while first_ok.load(Ordering::SeqCst) == u64::MAX {
            if started.elapsed() > Duration::from_secs(60) {
                bail!("no successful write within 60 s of killing leader {leader}");
            }
            let target = survivors[k % survivors.len()].clone();
            let (path, body, first_ok, first_any) = (
                probe_path.clone(),
                body.clone(),
                first_ok.clone(),
                first_any.clone(),
            );
            tokio::spawn(async move {
                if send_post(&target, &path, body).await.is_ok() {
                    let done = now_ns();
                    first_any.fetch_min(done, Ordering::SeqCst);
                    first_ok.fetch_min(done, Ordering::SeqCst);
                }
            });
            if new_leader_ms.is_none() && k.is_multiple_of(5) {
                let probe = survivors[(k / 5) % survivors.len()].clone();
                let st = tokio::time::timeout(
                    Duration::from_millis(200),
                    probe.get_ok("/admin/cluster"),
                )
                .await;
                if let Ok(Ok(st)) = st {
                    if st["leaderId"].as_u64().is_some_and(|l| l != leader) {
                        new_leader_ms = Some((now_ns() - ka) as f64 / 1e6);
                    }
                }
            }
            k += 1;
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        let ms = (first_ok.load(Ordering::SeqCst) - ka) as f64 / 1e6;
        let any = first_any.load(Ordering::SeqCst);
        let any_ms = (any != u64::MAX).then(|| (any.saturating_sub(ka)) as f64 / 1e6);
        eprintln!(
            "[failover] round {round_no}: leader {leader} killed → first write after {ms:.0} ms \
             (new leader seen after {new_leader_ms:?} ms)"
        );
        times_ms.push(ms);
        kill_at.store(u64::MAX, Ordering::SeqCst);
        let new_leader = cluster.wait_leader(Duration::from_secs(30)).await.ok();
        rounds.push(
            json!({"round": round_no, "killed_leader": leader, "new_leader": new_leader,
            "first_write_ms": round(ms, 1),
            "new_leader_reported_after_ms": new_leader_ms.map(|x| round(x, 1)),
            "first_ack_of_any_request_after_kill_ms": any_ms.map(|x| round(x, 1))}),
        );
        tokio::time::sleep(Duration::from_millis(300)).await;
        cluster.node_mut(leader).restart().await?;
        alive[idx].store(true, Ordering::SeqCst);
        cluster.wait_agreement(Duration::from_secs(60)).await?;
    }
    stop.store(true, Ordering::Relaxed);
    for w in workers {
        let _ = w.await;
    }
    let mut sorted = times_ms.clone();
    sorted.sort_by(|a, b| a.total_cmp(b));
    let median = if sorted.is_empty() {
        None
    } else if sorted.len() % 2 == 1 {
        Some(sorted[sorted.len() / 2])
    } else {
        Some((sorted[sorted.len() / 2 - 1] + sorted[sorted.len() / 2]) / 2.0)
    };
    let max = sorted.last().copied();
    rec.ours = median.map(|m| round(m, 1));
    rec.met = Some(median.is_some_and(|m| m <= 1000.0) && max.is_some_and(|m| m <= 2000.0));
    rec.detail(
        "ours",
        json!({"rounds": rounds, "median_ms": rec.ours, "max_ms": max.map(|m| round(m, 1)),
               "writes_ok": oks.load(Ordering::Relaxed), "writes_failed": errs.load(Ordering::Relaxed)}),
    );
    rec.detail(
        "table_rows",
        json!([{"name": "max", "ours": max.map(|m| round(m, 1)), "unit": "ms", "target": "≤ 2000 ms"}]),
    );
    rec.scale = s.describe(json!({"nodes": 3, "rounds": s.failover_rounds, "load_clients": s.failover_clients,
        "measured": "from SIGKILL of the leader to the completion of the first successful post sent after it (load clients post round-robin to the live nodes; a prober also sends a new post every 10 ms after the kill)"}));
    drop(chat);
    Ok(rec)
}

// ---------------------------------------------------------------- catch-up

fn find_snapshot_bytes(dir: &Path) -> u64 {
    let mut total = files_size(dir, "snapshot", ".bin");
    if let Ok(rd) = std::fs::read_dir(dir) {
        for e in rd.flatten() {
            if e.file_type().map(|t| t.is_dir()).unwrap_or(false) {
                total += files_size(&e.path(), "snapshot", ".bin");
            }
        }
    }
    total
}

pub async fn catch_up(ctx: &mut Ctx) -> Result<Record> {
    let s = ctx.scale.clone();
    let m = s.catchup_messages;
    let mut rec = Record::new(
        "catch-up",
        "s (until the new node serves reads)",
        "lower",
        "report time and snapshot MB/s (1,000,000 messages)",
    );
    rec.with_reference("none", None);
    if !ctx.targets.is_empty() {
        rec.detail("skipped", json!("catch-up starts a new node: needs a cluster started by the generator (no --target)"));
        return Ok(rec);
    }
    let mut chat = Chat::open(ctx, 1).await?;
    let ns = unique("cu");
    let rooms = api::setup_rooms(&chat.api, &ns, None, s.rooms).await?;
    eprintln!("[catch-up] filling {m} messages");
    let issued = Arc::new(AtomicU64::new(0));
    let last_room0: Arc<Mutex<Option<(i64, String)>>> = Arc::new(Mutex::new(None));
    let api = chat.api.fresh_pool();
    let url = chat.urls[0].clone();
    let body = post_body(&crate::util::metadata_of(s.msg_size));
    let t = Instant::now();
    let mut workers = Vec::new();
    for w in 0..s.clients {
        let (api, issued, last, body, ns, rooms) = (
            api.at(&url),
            issued.clone(),
            last_room0.clone(),
            body.clone(),
            ns.clone(),
            rooms.clone(),
        );
        workers.push(tokio::spawn(async move {
            loop {
                let i = issued.fetch_add(1, Ordering::Relaxed);
                if i >= m {
                    return Ok::<(), anyhow::Error>(());
                }
                let room = (i % rooms.len() as u64) as usize;
                let path = post_path(&ns, &rooms[room], &format!("u{w}"));
                let mut tries = 0;
                loop {
                    let r = api.post_bytes(&path, body.clone()).send().await;
                    match r {
                        Ok(r) if r.status().as_u16() == 200 => {
                            let bytes = r.bytes().await?;
                            if room == 0 {
                                let v: Value = serde_json::from_slice(&bytes)?;
                                let item = &v["item"];
                                if let (Some(c), Some(n)) =
                                    (item["createdAt"].as_i64(), item["name"].as_str())
                                {
                                    let mut l = last.lock().expect("last");
                                    if l.as_ref().is_none_or(|(lc, _)| c >= *lc) {
                                        *l = Some((c, n.to_owned()));
                                    }
                                }
                            }
                            break;
                        }
                        other => {
                            tries += 1;
                            if tries > 20 {
                                bail!("fill post failed 20 times: {other:?}");
                            }
                            tokio::time::sleep(Duration::from_millis(50)).await;
                        }
                    }
                }
            }
        }));
    }
    for w in workers {
        w.await??;
    }
    let fill_s = t.elapsed().as_secs_f64();
    eprintln!(
        "[catch-up] filled {m} messages in {fill_s:.1}s ({:.0}/s)",
        m as f64 / fill_s
    );
    let (last_created, last_name) = last_room0
        .lock()
        .expect("last")
        .clone()
        .context("no post to room-0 recorded")?;
    let cluster = chat.local.as_mut().expect("local cluster");
    // A fresh snapshot, so the new node is sent one (not the log).
    let st = cluster_status(&cluster.api, &cluster.nodes[0]).await?;
    let leader_applied = st["appliedIndex"].as_u64().unwrap_or(0);
    cluster
        .api
        .with_timeout(Duration::from_secs(600))
        .post_ok("/admin/cluster/snapshot", json!({}))
        .await
        .context("trigger snapshot")?;
    let started = Instant::now();
    loop {
        let st = cluster_status(&cluster.api, &cluster.nodes[0]).await?;
        if st["snapshotIndex"].as_u64().unwrap_or(0) >= leader_applied {
            break;
        }
        if started.elapsed() > Duration::from_secs(600) {
            bail!("no snapshot at index {leader_applied} after 10 min: {st}");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let snap_bytes = find_snapshot_bytes(&cluster.nodes[0].data_dir);
    eprintln!(
        "[catch-up] snapshot {:.1} MB; starting a new node",
        snap_bytes as f64 / 1e6
    );
    let nats_url = cluster.nats.as_ref().map(|n| n.url(0));
    let t_spawn = Instant::now();
    let node2 = ChatNode::start(&ctx.env, 2, true, nats_url.as_deref(), &[]).await?;
    let spawn_s = t_spawn.elapsed().as_secs_f64();
    let raft2 = node2.raft.to_string();
    let url2 = node2.url();
    let data2 = node2.data_dir.clone();
    cluster.nodes.push(node2);
    let read_api = cluster.api.at(&url2).with_timeout(Duration::from_secs(5));
    let read_path = format!(
        "/chat/{ns}/room/{}/message/get?userId=reader&startAt={last_created}&limit=100",
        rooms[0]
    );
    let t0 = Instant::now();
    let serve = async {
        loop {
            let r = read_api
                .request(reqwest::Method::GET, &read_path)
                .header("X-Chat-Read-Consistency", "stale")
                .send()
                .await;
            if let Ok(r) = r {
                if r.status().as_u16() == 200 {
                    if let Ok(v) = r.json::<Value>().await {
                        let found = v["items"].as_array().is_some_and(|a| {
                            a.iter().any(|i| i["name"].as_str() == Some(&last_name))
                        });
                        if found {
                            return t0.elapsed();
                        }
                    }
                }
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    };
    let done = AtomicBool::new(false);
    let snap_seen = async {
        loop {
            if find_snapshot_bytes(&data2) > 0 {
                return Some(t0.elapsed());
            }
            if done.load(Ordering::SeqCst) {
                return None;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    };
    let add = async {
        cluster
            .add_member(2, &raft2, Duration::from_secs(1800))
            .await
            .map(|_| t0.elapsed())
    };
    let main = async {
        let r = futures::future::join(serve, add).await;
        done.store(true, Ordering::SeqCst);
        r
    };
    let ((served, added), snap_at) = tokio::time::timeout(
        Duration::from_secs(1800),
        futures::future::join(main, snap_seen),
    )
    .await
    .map_err(|_| anyhow!("the new node did not serve reads within 30 min"))?;
    let added = added?;
    let serve_s = served.as_secs_f64();
    let mb = snap_bytes as f64 / 1e6;
    // The transfer ends when the snapshot is installed: at the latest when the new node
    // serves the data (it saves its snapshot file right after installing).
    // (The file may appear only after the node already answered: then the serve time bounds it.)
    let installed = Some(snap_at.map_or(served, |d| d.min(served)));
    let mb_s = installed.map(|d| mb / d.as_secs_f64().max(1e-3));
    eprintln!(
        "[catch-up] serves reads after {serve_s:.2}s (added as voter after {:.2}s); snapshot {mb:.1} MB at {:?} MB/s",
        added.as_secs_f64(),
        mb_s.map(|x| round(x, 1))
    );
    rec.ours = Some(round(serve_s, 3));
    rec.met = Some(true);
    rec.detail(
        "ours",
        json!({"messages": m, "fill_s": round(fill_s, 2), "fill_posts_per_s": round(m as f64 / fill_s, 1),
               "leader_applied_index": leader_applied,
               "snapshot_mb": round(mb, 2),
               "snapshot_file_seen_on_new_node_after_s": snap_at.map(|d| round(d.as_secs_f64(), 3)),
               "snapshot_installed_after_s": installed.map(|d| round(d.as_secs_f64(), 3)),
               "snapshot_mb_per_s": mb_s.map(|x| round(x, 1)),
               "serves_reads_after_s": round(serve_s, 3),
               "added_as_voter_after_s": round(added.as_secs_f64(), 3),
               "new_node_process_start_s": round(spawn_s, 3),
               "measured_from": "the admin add-node request (the new node process already running, empty)"}),
    );
    rec.detail(
        "table_rows",
        json!([{"name": "snapshot transfer", "ours": mb_s.map(|x| round(x, 1)), "unit": "MB/s"},
               {"name": "snapshot size", "ours": round(mb, 1), "unit": "MB"}]),
    );
    rec.scale = s.describe(json!({"messages": m, "cluster": "1 node holding the data + 1 joining node", "fill_clients": s.clients}));
    drop(chat);
    Ok(rec)
}
