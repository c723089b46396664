//! The load that runs while the nemesis works: posters, readers, subscription changes and
//! WebSocket listeners, all talking to the nodes directly (never through a proxy).
//!
//! Owns: the shared context of the clients ([`Ctx`]), the initial data (a gateway
//! namespace, a chat namespace whose `postNotification` points at it, the rooms, the
//! listeners' first subscriptions), and starting and stopping the client tasks.
//! Does not own: judging what the clients saw (see [`crate::checker`]).
//!
//! Layout:
//! - [`posts`]: postByUserId with a duplication avoider, retried on other nodes;
//!   read-after-ack.
//! - [`subs`]: subscribe / unsubscribe toggles of the listeners' users.
//! - [`listeners`]: WebSocket clients bound with setUserId, recording notifications
//!   and online intervals, reconnecting when dropped.

pub mod listeners;
pub mod posts;
pub mod subs;

use std::sync::atomic::AtomicU64;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Result};
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use serde_json::{json, Value};
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::api::{Api, Opts, Retriable};
use crate::cluster::{Endpoint, Endpoints};
use crate::history::{History, SubKind};

/// Sizes and budgets of the load.
#[derive(Debug, Clone)]
pub struct WorkloadConfig {
    pub posters: usize,
    pub listeners: usize,
    pub rooms: usize,
    /// Share of acknowledged posts followed by a read on a random node.
    pub read_ratio: f64,
    /// Pause between two operations of one client.
    pub think: Duration,
    /// How long one operation is retried before it is left indeterminate.
    pub op_budget: Duration,
    /// Timeout of one HTTP attempt.
    pub request_timeout: Duration,
}

/// What every client task shares.
pub struct Ctx {
    pub api: Api,
    pub endpoints: Endpoints,
    pub history: Arc<History>,
    pub ns: String,
    pub gw: String,
    pub rooms: Vec<String>,
    pub seed: u64,
    pub cfg: WorkloadConfig,
    /// Posters and subscription changes stop starting operations when this turns true.
    pub stop_load: watch::Receiver<bool>,
    /// Listeners disconnect when this turns true.
    pub stop_listen: watch::Receiver<bool>,
    pub next_op: AtomicU64,
}

impl Ctx {
    /// A random endpoint, avoiding `avoid` when there is another choice.
    pub fn pick(&self, rng: &mut StdRng, avoid: Option<u64>) -> Option<Endpoint> {
        let eps = self.endpoints.read().expect("endpoints lock").clone();
        let others: Vec<&Endpoint> = eps.iter().filter(|e| Some(e.id) != avoid).collect();
        if others.is_empty() {
            eps.choose(rng).cloned()
        } else {
            others.choose(rng).map(|e| (*e).clone())
        }
    }

    pub fn load_stopped(&self) -> bool {
        *self.stop_load.borrow()
    }

    pub fn listen_stopped(&self) -> bool {
        *self.stop_listen.borrow()
    }

    /// A generator for one task, derived from the run seed and the task's name.
    pub fn rng_for(&self, tag: u64, i: usize) -> StdRng {
        StdRng::seed_from_u64(
            self.seed
                .wrapping_mul(0x9E37_79B9_7F4A_7C15)
                .wrapping_add(tag << 32)
                .wrapping_add(i as u64),
        )
    }

    /// The options of one client request: the per-attempt timeout.
    pub fn opts(&self) -> Opts {
        Opts::timeout(self.cfg.request_timeout)
    }

    /// [`Ctx::pick`], or after a [`Ctx::backoff`] `None` when there is no endpoint.
    pub async fn pick_or_backoff(&self, rng: &mut StdRng, avoid: Option<u64>) -> Option<Endpoint> {
        let ep = self.pick(rng, avoid);
        if ep.is_none() {
            Ctx::backoff(rng).await;
        }
        ep
    }

    /// Random back-off between retries of one operation.
    pub async fn backoff(rng: &mut StdRng) {
        tokio::time::sleep(Duration::from_millis(rng.gen_range(50..300))).await;
    }

    /// One write through any node, retried (same avoider) on 5xx and transport errors
    /// until `ok` statuses or the operation budget. Used for setup.
    async fn setup_write(
        &self,
        rng: &mut StdRng,
        path: &str,
        body: Value,
        ok: &[u16],
    ) -> Result<Value> {
        let avoider = format!("setup-{}-{}", self.seed, uuid::Uuid::new_v4().simple());
        let started = Instant::now();
        loop {
            let Some(ep) = self.pick(rng, None) else {
                bail!("no endpoint");
            };
            let r = self
                .api
                .post(&ep.base, path, body.clone(), &self.opts().avoider(&avoider))
                .await;
            let why = match r {
                Ok(r) if ok.contains(&r.status) => return Ok(r.body),
                Ok(r) if !r.retriable() => bail!("POST {path} -> {}", r.brief()),
                Ok(r) => r.brief(),
                Err(e) => format!("{e:#}"),
            };
            if started.elapsed() > Duration::from_secs(60) {
                bail!("POST {path} kept failing: {why}");
            }
            Ctx::backoff(rng).await;
        }
    }
}

/// Names of the listener users.
pub fn listener_user(i: usize) -> String {
    format!("l-{i}")
}

/// Creates the namespaces, rooms and first subscriptions (no fault runs yet).
pub async fn setup(ctx: &Ctx) -> Result<()> {
    let mut rng = ctx.rng_for(0, 0);
    let gw = ctx
        .setup_write(&mut rng, "/gateway/", json!({"name": ctx.gw}), &[200])
        .await?;
    let grn = gw["item"]["namespaceId"]
        .as_str()
        .map(str::to_owned)
        .unwrap_or_else(|| format!("grn:gs2:ap-northeast-1:owner:gateway:{}", ctx.gw));
    ctx.setup_write(
        &mut rng,
        "/chat/",
        json!({"name": ctx.ns, "allowCreateRoom": true,
               "postNotification": {"gatewayNamespaceId": grn, "enable": "Enabled"}}),
        &[200],
    )
    .await?;
    for room in &ctx.rooms {
        ctx.setup_write(
            &mut rng,
            &format!("/chat/{}/room", ctx.ns),
            json!({"name": room, "userId": "chaos-owner"}),
            &[200],
        )
        .await?;
    }
    // Each listener starts subscribed to about half of the rooms.
    for i in 0..ctx.cfg.listeners {
        let user = listener_user(i);
        for room in &ctx.rooms {
            if rng.gen_bool(0.5) {
                let rec = subs::sub_op(ctx, &mut rng, &user, room, SubKind::Subscribe).await;
                if !rec.acked {
                    bail!(
                        "initial subscribe of {user} to {room} failed: {}",
                        rec.detail
                    );
                }
                ctx.history.subs.lock().expect("subs lock").push(rec);
            }
        }
    }
    Ok(())
}

/// The running client tasks.
pub struct Running {
    pub load: Vec<JoinHandle<()>>,
    pub listeners: Vec<JoinHandle<()>>,
}

/// Starts every client task.
pub fn spawn(ctx: &Arc<Ctx>) -> Running {
    let mut load = Vec::new();
    for i in 0..ctx.cfg.posters {
        load.push(tokio::spawn(posts::poster(ctx.clone(), i)));
    }
    let mut ws = Vec::new();
    for i in 0..ctx.cfg.listeners {
        load.push(tokio::spawn(subs::toggler(ctx.clone(), i)));
        ws.push(tokio::spawn(listeners::listener(ctx.clone(), i)));
    }
    Running {
        load,
        listeners: ws,
    }
}
