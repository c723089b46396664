//! Reference points measured in the same run, with the same load engines, message size and
//! concurrency as our figures:
//!
//! - JetStream publish-with-ack (async-nats), file storage, R1 and R3 (a local 3-server
//!   cluster), default sync or `sync_interval: always`: closed loop (throughput) and open loop
//!   (ack latency at a given rate);
//! - JetStream publish → consume through push consumers, fanned out to subscribers spread over
//!   the 3 servers (the end-to-end reference);
//! - NATS core fan-out of one subject to many subscriber connections;
//! - raw RocksDB synced-WAL batch writes of the rows a post writes;
//! - a plain tokio-tungstenite echo server (memory per idle connection).

use crate::load::{closed_loop, open_loop, start_soon, warm_count, LoadResult, Request};
use crate::measure::Deliveries;
use crate::natsmini::MiniSub;
use crate::procs::{Env, NatsSet};
use crate::util::round;
use crate::wsclient::source_ip;
use anyhow::{bail, Context, Result};
use async_nats::jetstream::{self, stream::StorageType};
use bytes::Bytes;
use futures::{SinkExt, StreamExt};
use serde_json::{json, Value};
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// A JetStream deployment for one reference run.
pub struct Js {
    pub servers: NatsSet,
    pub ctx: jetstream::Context,
}

impl Js {
    /// Starts `n` servers and creates stream `name` on `subjects` with `n` replicas.
    pub async fn start(
        env: &Env,
        n: usize,
        sync_always: bool,
        name: &str,
        subjects: &str,
    ) -> Result<Js> {
        let servers = NatsSet::start(env, n, sync_always).await?;
        let client = async_nats::ConnectOptions::new()
            .connection_timeout(Duration::from_secs(10))
            .connect(servers.url(0))
            .await
            .context("connect to nats")?;
        let ctx = jetstream::new(client.clone());
        let started = Instant::now();
        loop {
            let r = ctx
                .get_or_create_stream(jetstream::stream::Config {
                    name: name.to_owned(),
                    subjects: vec![subjects.to_owned()],
                    storage: StorageType::File,
                    num_replicas: n,
                    ..Default::default()
                })
                .await;
            match r {
                Ok(_) => break,
                Err(e) if started.elapsed() < Duration::from_secs(60) => {
                    let _ = e;
                    tokio::time::sleep(Duration::from_millis(250)).await;
                }
                Err(e) => bail!(
                    "create stream {name} (R{n}): {e}; log: {}",
                    servers.log_tail(0, 20)
                ),
            }
        }
        Ok(Js { servers, ctx })
    }
}

fn label(n: usize, sync_always: bool) -> String {
    format!(
        "JetStream R{n} {}",
        if sync_always {
            "sync_interval=always"
        } else {
            "default sync"
        }
    )
}

/// Publish-with-ack throughput: `workers` publishers, each awaiting its ack before the next.
pub async fn js_throughput(
    env: &Env,
    n: usize,
    sync_always: bool,
    workers: usize,
    warmup: Duration,
    duration: Duration,
    payload: Bytes,
) -> Result<(String, LoadResult)> {
    let js = Js::start(env, n, sync_always, "BENCH", "bench.>").await?;
    let ctx = js.ctx.clone();
    let r = closed_loop(workers, warmup, duration, move |w, _| {
        publish_acked(ctx.clone(), format!("bench.{}", w % 16), payload.clone())
    })
    .await;
    drop(js);
    Ok((label(n, sync_always), r))
}

/// One JetStream publish to `subject`, done when the stream acknowledged it.
async fn publish_acked(
    ctx: jetstream::Context,
    subject: String,
    payload: Bytes,
) -> Result<(), String> {
    let ack = ctx
        .publish(subject, payload)
        .await
        .map_err(|e| e.to_string())?;
    ack.await.map(|_| ()).map_err(|e| e.to_string())
}

/// Publish-with-ack latency at a fixed rate (open loop, from the intended send time).
#[allow(clippy::too_many_arguments)]
pub async fn js_latency(
    env: &Env,
    n: usize,
    sync_always: bool,
    rate: f64,
    workers: usize,
    warmup: Duration,
    duration: Duration,
    payload: Bytes,
) -> Result<(String, LoadResult)> {
    let js = Js::start(env, n, sync_always, "BENCH", "bench.>").await?;
    let ctx = js.ctx.clone();
    let r = open_loop(
        start_soon(),
        rate,
        warmup,
        duration,
        Duration::from_secs(5),
        workers,
        move |w, _| publish_acked(ctx.clone(), format!("bench.{}", w % 16), payload.clone()),
    )
    .await;
    drop(js);
    Ok((label(n, sync_always), r))
}

/// A payload of `size` bytes starting with the decimal `seq` and a space.
pub fn seq_payload(seq: u64, size: usize) -> Bytes {
    let mut s = format!("{seq} ");
    while s.len() < size {
        s.push('x');
    }
    Bytes::from(s)
}

/// The `seq` at the start of a [`seq_payload`].
pub fn seq_of(payload: &[u8]) -> Option<u64> {
    let end = payload.iter().position(|b| *b == b' ')?;
    std::str::from_utf8(&payload[..end]).ok()?.parse().ok()
}

/// Parameters of a push (end-to-end or fan-out) run.
#[derive(Clone, Copy, Debug)]
pub struct PushLoad {
    pub subscribers: usize,
    pub rooms: usize,
    pub rate: f64,
    pub warmup: Duration,
    pub duration: Duration,
    pub workers: usize,
    pub payload_size: usize,
}

impl PushLoad {
    /// The delivery bookkeeping of a run whose first post is due at `t0`.
    pub fn deliveries(&self, t0: Instant) -> Arc<Deliveries> {
        let total = ((self.warmup + self.duration).as_secs_f64() * self.rate).floor() as u64;
        Arc::new(Deliveries::new(
            t0,
            self.rate,
            warm_count(self.warmup, self.rate),
            total,
            self.rooms,
        ))
    }

    /// The posts of a push run, open loop from `t0`: post `seq` goes to room `seq % rooms`
    /// through `post(seq, room)`, and each acknowledged one is counted in `dl`. Then waits
    /// for the deliveries `subs_per_room` expects (done after 3 s without one, at most
    /// `drain`).
    pub async fn post_and_drain<Fut: Request>(
        &self,
        t0: Instant,
        dl: &Arc<Deliveries>,
        subs_per_room: &[usize],
        drain: Duration,
        post: impl Fn(u64, usize) -> Fut + Send + Sync + 'static,
    ) -> LoadResult {
        let rooms = self.rooms;
        let acks = dl.clone();
        let load = open_loop(
            t0,
            self.rate,
            self.warmup,
            self.duration,
            Duration::from_secs(5),
            self.workers,
            move |_, seq| {
                let room = seq as usize % rooms;
                let sent = post(seq, room);
                let dl = acks.clone();
                async move {
                    sent.await?;
                    dl.acked(seq, room);
                    Ok(())
                }
            },
        )
        .await;
        dl.drain(|| dl.expected(subs_per_room), Duration::from_secs(3), drain)
            .await;
        load
    }
}

/// Reads `sub` (subscriber `i`) until `stop`, counting each payload's `seq` as delivered.
fn spawn_reader(
    sub: MiniSub,
    i: usize,
    dl: &Arc<Deliveries>,
    stop: &tokio::sync::watch::Receiver<bool>,
) -> tokio::task::JoinHandle<Result<()>> {
    let dl = dl.clone();
    let stop = stop.clone();
    tokio::spawn(async move {
        sub.run(stop, move |payload, at| {
            if let Some(seq) = seq_of(payload) {
                dl.delivered(i, seq, at);
            }
        })
        .await
    })
}

/// JetStream R3 (`sync_interval: always`) publish → consume: one push consumer per room
/// delivering to `dlv.<room>`, read by the room's subscribers, connected round-robin to the
/// three servers. Latency from each publish's intended send time to its read.
pub async fn js_e2e(env: &Env, p: PushLoad) -> Result<Value> {
    let js = Js::start(env, 3, true, "E2E", "e2e.>").await?;
    let stream = js.ctx.get_stream("E2E").await.context("get stream")?;
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let t0 = start_soon() + Duration::from_secs(2);
    let dl = p.deliveries(t0);
    let mut subs_per_room = vec![0usize; p.rooms];
    let mut readers = Vec::new();
    for i in 0..p.subscribers {
        let room = i % p.rooms;
        subs_per_room[room] += 1;
        let sub = MiniSub::connect(
            js.servers.addr(i % js.servers.len()),
            Some(source_ip(i)),
            &format!("dlv.{room}"),
        )
        .await?;
        readers.push(spawn_reader(sub, i, &dl, &stop_rx));
    }
    for r in 0..p.rooms {
        stream
            .create_consumer(jetstream::consumer::push::Config {
                durable_name: Some(format!("c{r}")),
                deliver_subject: format!("dlv.{r}"),
                filter_subject: format!("e2e.{r}"),
                ack_policy: jetstream::consumer::AckPolicy::None,
                deliver_policy: jetstream::consumer::DeliverPolicy::New,
                ..Default::default()
            })
            .await
            .with_context(|| format!("create consumer c{r}"))?;
    }
    tokio::time::sleep_until(tokio::time::Instant::from_std(
        t0 - Duration::from_millis(100),
    ))
    .await;
    let ctx = js.ctx.clone();
    let size = p.payload_size;
    let load = p
        .post_and_drain(
            t0,
            &dl,
            &subs_per_room,
            Duration::from_secs(20),
            move |seq, room| {
                publish_acked(ctx.clone(), format!("e2e.{room}"), seq_payload(seq, size))
            },
        )
        .await;
    let _ = stop_tx.send(true);
    for r in readers {
        let _ = r.await;
    }
    let mut v = dl.summary(&subs_per_room);
    v["name"] = json!("JetStream R3 sync_interval=always publish→push consumer→subscribers");
    v["publish"] = load.summary();
    Ok(v)
}

/// NATS core fan-out: `subscribers` connections on one subject of one server, one publisher
/// at `rate` messages/s of `payload_size` bytes.
pub async fn nats_fanout(env: &Env, p: PushLoad) -> Result<Value> {
    // One subject: one room.
    let p = PushLoad { rooms: 1, ..p };
    let servers = NatsSet::start(env, 1, false).await?;
    let client = async_nats::connect(servers.url(0)).await?;
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let t0 = start_soon() + Duration::from_secs(1);
    let dl = p.deliveries(t0);
    let mut readers = Vec::new();
    let conns: Vec<Result<MiniSub>> = futures::stream::iter((0..p.subscribers).map(|i| {
        let addr = servers.addr(0);
        async move { MiniSub::connect(addr, Some(source_ip(i)), "fan").await }
    }))
    .buffered(128)
    .collect()
    .await;
    for (i, sub) in conns.into_iter().enumerate() {
        readers.push(spawn_reader(sub?, i, &dl, &stop_rx));
    }
    tokio::time::sleep_until(tokio::time::Instant::from_std(
        t0 - Duration::from_millis(100),
    ))
    .await;
    let size = p.payload_size;
    let spr = vec![p.subscribers];
    let load = p
        .post_and_drain(t0, &dl, &spr, Duration::from_secs(20), move |seq, _| {
            let client = client.clone();
            async move {
                client
                    .publish("fan", seq_payload(seq, size))
                    .await
                    .map_err(|e| e.to_string())
            }
        })
        .await;
    let _ = stop_tx.send(true);
    let mut ended = 0;
    for r in readers {
        if let Ok(Err(_)) = r.await {
            ended += 1;
        }
    }
    let mut v = dl.summary(&spr);
    v["name"] = json!("NATS core fan-out (one subject, one connection per subscriber)");
    v["publish"] = load.summary();
    v["subscriber_connections_lost"] = json!(ended);
    drop(servers);
    Ok(v)
}

/// Raw RocksDB: batches of `batch_posts` posts, each the five rows a post writes (log entry,
/// message, message-name index, by-user index, outbox envelope), with `sync = true`.
pub fn rocksdb_synced(
    dir: &Path,
    batch_posts: usize,
    duration: Duration,
    msg_size: usize,
) -> Result<Value> {
    let mut opts = rocksdb::Options::default();
    opts.create_if_missing(true);
    opts.set_compression_type(rocksdb::DBCompressionType::Lz4);
    let db = rocksdb::DB::open(&opts, dir).context("open rocksdb")?;
    let mut wo = rocksdb::WriteOptions::default();
    wo.set_sync(true);
    let entry = vec![b'e'; msg_size + 160];
    let message = vec![b'm'; msg_size + 120];
    let outbox = vec![b'o'; msg_size + 200];
    let started = Instant::now();
    let mut posts = 0u64;
    let mut batches = 0u64;
    let mut i = 0u64;
    while started.elapsed() < duration {
        let mut b = rocksdb::WriteBatch::default();
        for _ in 0..batch_posts.max(1) {
            i += 1;
            let name = format!("{:032x}", i.wrapping_mul(0x9e37_79b9_7f4a_7c15));
            b.put(format!("log/{i:016x}"), &entry);
            b.put(
                format!("msg/bench/room-{}/{i:016x}/{name}", i % 16),
                &message,
            );
            b.put(
                format!("name/bench/room-{}/{name}", i % 16),
                i.to_be_bytes(),
            );
            b.put(
                format!("user/u{}/bench/room-{}/{i:016x}/{name}", i % 256, i % 16),
                b"",
            );
            b.put(format!("outbox/{i:016x}/0"), &outbox);
            posts += 1;
        }
        db.write_opt(b, &wo).context("synced write")?;
        batches += 1;
    }
    let secs = started.elapsed().as_secs_f64();
    Ok(json!({
        "name": "RocksDB synced-WAL batch writes (5 rows per post)",
        "batch_posts": batch_posts,
        "posts_per_s": round(posts as f64 / secs, 1),
        "synced_batches_per_s": round(batches as f64 / secs, 1),
        "seconds": round(secs, 2),
    }))
}

/// `loadgen echo-server --port-file F`: a plain tokio-tungstenite echo server (2 worker
/// threads), the reference for memory per idle WebSocket connection.
pub fn echo_server_main(port_file: &Path) -> Result<()> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    rt.block_on(async {
        let l = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let tmp = port_file.with_extension("tmp");
        std::fs::write(&tmp, l.local_addr()?.to_string())?;
        std::fs::rename(&tmp, port_file)?;
        loop {
            let (s, _) = l.accept().await?;
            tokio::spawn(async move {
                if let Ok(ws) = tokio_tungstenite::accept_async(s).await {
                    let (mut tx, mut rx) = ws.split();
                    while let Some(Ok(m)) = rx.next().await {
                        if (m.is_text() || m.is_binary()) && tx.send(m).await.is_err() {
                            break;
                        }
                    }
                }
            });
        }
    })
}
