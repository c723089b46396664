//! The seven scenarios of issue 5, and the Stream face's (issue 11). Each returns one [`Record`]: our figure, the reference
//! measured in the same run, the target and whether it was met, and the details.
//!
//! Layout: this file (the registry [`SCENARIOS`] and [`run`], [`Scale`], [`Ctx`], the chat
//! cluster under test and the post helpers the scenarios share), [`sessions`] (bound
//! WebSocket sessions, the push run), then one file per scenario.

mod catch_up;
mod connections;
mod e2e_delivery;
mod failover;
mod fanout;
mod post_latency;
mod post_throughput;
mod sessions;
mod stream_chat;

use crate::api::{post_path, Api};
use crate::load::{closed_loop, open_loop, start_soon, LoadResult};
use crate::procs::{ChatCluster, Env};
use crate::report::Record;
use crate::util::round;
use anyhow::{Context, Result};
use bytes::Bytes;
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::net::{SocketAddr, ToSocketAddrs};
use std::sync::Arc;
use std::time::Duration;

/// Every scenario, in the order `all` runs them and the results file lists them.
pub const SCENARIOS: &[&str] = &[
    "post-throughput",
    "post-latency",
    "e2e-delivery",
    "fanout",
    "connections",
    "failover",
    "catch-up",
    "stream-chat",
];

/// What a scenario is judged on, known before it runs.
pub(super) struct Meta {
    name: &'static str,
    unit: &'static str,
    /// "higher" or "lower".
    better: &'static str,
    target: &'static str,
    /// Why the scenario needs a cluster the generator starts (it is skipped with `--target`
    /// and has no reference).
    local_only: Option<&'static str>,
}

/// Every scenario's [`Meta`], in [`SCENARIOS`] order.
const METAS: [&Meta; 8] = [
    &post_throughput::META,
    &post_latency::META,
    &e2e_delivery::META,
    &fanout::META,
    &connections::META,
    &failover::META,
    &catch_up::META,
    &stream_chat::META,
];

/// Runs the scenario `name` (one of [`SCENARIOS`]).
pub async fn run(name: &str, ctx: &mut Ctx) -> Result<Record> {
    let meta = METAS.iter().find(|m| m.name == name).with_context(|| {
        format!(
            "unknown scenario {name:?} (known: {})",
            SCENARIOS.join(", ")
        )
    })?;
    let mut rec = Record::new(meta.name, meta.unit, meta.better, meta.target);
    if let Some(why) = meta.local_only {
        rec.with_reference("none", None);
        if !ctx.targets.is_empty() {
            rec.detail("skipped", json!(why));
            return Ok(rec);
        }
    }
    match name {
        "post-throughput" => post_throughput::run(ctx, rec).await,
        "post-latency" => post_latency::run(ctx, rec).await,
        "e2e-delivery" => e2e_delivery::run(ctx, rec).await,
        "fanout" => fanout::run(ctx, rec).await,
        "connections" => connections::run(ctx, rec).await,
        "failover" => failover::run(ctx, rec).await,
        "catch-up" => catch_up::run(ctx, rec).await,
        "stream-chat" => stream_chat::run(ctx, rec).await,
        _ => unreachable!("every scenario has a Meta"),
    }
}

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

/// The reference run of a scenario, unless `--no-reference`: says `announce`, runs
/// `measure`, keeps its details as `reference` and `figure` of them as the reference value
/// named `name`.
async fn measure_reference(
    ctx: &Ctx,
    rec: &mut Record,
    (announce, name): (&str, &str),
    measure: impl std::future::Future<Output = Result<Value>>,
    figure: impl Fn(&Value) -> Option<f64>,
) -> Result<()> {
    if ctx.no_reference {
        rec.with_reference("none (--no-reference)", None);
        return Ok(());
    }
    eprintln!("{announce}");
    let r = measure.await?;
    rec.with_reference(name, figure(&r));
    rec.detail("reference", r);
    Ok(())
}

fn unique(prefix: &str) -> String {
    format!(
        "{prefix}{}",
        &uuid::Uuid::new_v4().simple().to_string()[..8]
    )
}

/// The posts of a load run: worker `w` posts `body` as user `u<w>` to room `w % rooms` via
/// `urls[w % n]`, on a connection pool of the run's own.
struct PostTargets {
    targets: Arc<Vec<(Api, String)>>,
    body: Bytes,
}

impl PostTargets {
    fn new(
        api: &Api,
        urls: &[String],
        (ns, rooms): (&str, &[String]),
        workers: usize,
        body: Bytes,
    ) -> PostTargets {
        let api = api.fresh_pool();
        let targets = (0..workers)
            .map(|w| {
                (
                    api.at(&urls[w % urls.len()]),
                    post_path(ns, &rooms[w % rooms.len()], &format!("u{w}")),
                )
            })
            .collect();
        PostTargets {
            targets: Arc::new(targets),
            body,
        }
    }

    /// Closed loop: every worker posts again as soon as its post is answered.
    async fn closed(&self, warmup: Duration, duration: Duration) -> LoadResult {
        let (targets, body) = (self.targets.clone(), self.body.clone());
        closed_loop(targets.len(), warmup, duration, move |w, _| {
            worker_post(targets.clone(), w, body.clone())
        })
        .await
    }

    /// Open loop at `rate` posts/s from now.
    async fn open(&self, rate: f64, warmup: Duration, duration: Duration) -> LoadResult {
        let (targets, body) = (self.targets.clone(), self.body.clone());
        let workers = targets.len();
        let drain = Duration::from_secs(5);
        open_loop(
            start_soon(),
            rate,
            warmup,
            duration,
            drain,
            workers,
            move |w, _| worker_post(targets.clone(), w, body.clone()),
        )
        .await
    }
}

/// Worker `w`'s post of a [`PostTargets`] run.
async fn worker_post(
    targets: Arc<Vec<(Api, String)>>,
    w: usize,
    body: Bytes,
) -> Result<(), String> {
    let (api, path) = &targets[w];
    send_post(api, path, body).await
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_scenario_has_its_meta_in_order() {
        let names: Vec<&str> = METAS.iter().map(|m| m.name).collect();
        assert_eq!(names, SCENARIOS);
    }
}
