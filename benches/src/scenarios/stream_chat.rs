//! stream-chat: the Stream face on 3 nodes. Message send latency at half of the maximum send
//! rate, and send → `message.new` on another node's WebSocket, with JetStream R3 publish at
//! the same rate as the reference (the same durable replication the cluster does per send).
//!
//! Set-up: `channels` channels of `messaging`, each with one sender and
//! [`RECEIVERS_PER_CHANNEL`] members connected to `/connect` on the nodes the sends do not go
//! to, watching their channel. Sends go to one node with a server token (`user_id` = the
//! channel's sender); each message's text carries its intended send time (µs since the epoch),
//! so a receiver's latency includes the send's own acknowledgement, as in e2e-delivery.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::{bail, Context, Result};
use futures::{SinkExt, StreamExt};
use serde_json::{json, Value};
use tokio_tungstenite::tungstenite::Message;

use super::{Chat, Ctx, Meta};
use crate::load::{closed_loop, open_loop, start_soon};
use crate::reference;
use crate::report::Record;
use crate::stream_api::{StreamApi, STREAM_KEY};
use crate::util::{new_hist, quantile_ms, record, round};

pub(super) const META: Meta = Meta {
    name: "stream-chat",
    unit: "ms (send p99)",
    better: "lower",
    target: "send p99 ≤ 40 ms at 50% of the max rate on 3 nodes; send → message.new on another node p99 ≤ 25 ms",
    local_only: Some("needs the Stream credentials the generator starts nodes with"),
};

const RECEIVERS_PER_CHANNEL: usize = 4;

fn now_us() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_micros() as u64)
}

/// What the receivers saw.
struct Deliveries {
    hist: Mutex<hdrhistogram::Histogram<u64>>,
    count: AtomicU64,
    /// Only messages whose intended send time is at or after this (µs) are counted.
    count_from_us: AtomicU64,
}

/// Connects `user` to `/connect` on `base`, watches `channel`, and counts its `message.new`.
async fn receiver(
    api: &StreamApi,
    base: &str,
    user: &str,
    channel: &str,
    seen: Arc<Deliveries>,
) -> Result<()> {
    let token = api.user_token(user);
    let details = json!({ "user_id": user, "user_details": { "id": user } }).to_string();
    let q = serde_urlencoded::to_string([
        ("json", details.as_str()),
        ("api_key", STREAM_KEY),
        ("authorization", token.as_str()),
        ("stream-auth-type", "jwt"),
    ])?;
    let url = format!("{}/connect?{q}", base.replacen("http://", "ws://", 1));
    let dial = testkit::ws::raw::Dial {
        nodelay: true,
        timeout: Duration::from_secs(10),
        ..Default::default()
    };
    let mut ws = testkit::ws::raw::dial(&url, &dial).await?;
    let first = tokio::time::timeout(Duration::from_secs(10), ws.next())
        .await
        .context("no handshake frame")?;
    let Some(Ok(Message::Text(t))) = first else {
        bail!("no handshake frame: {first:?}");
    };
    let hello: Value = serde_json::from_str(&t)?;
    let conn = hello["connection_id"]
        .as_str()
        .context("no connection_id")?
        .to_string();
    api.as_user(user)
        .post(
            &format!("/channels/messaging/{channel}/query?connection_id={conn}"),
            json!({ "state": false, "watch": true, "presence": false }),
        )
        .await?;
    tokio::spawn(async move {
        while let Some(Ok(msg)) = ws.next().await {
            let Message::Text(t) = msg else {
                if let Message::Ping(p) = msg {
                    let _ = ws.send(Message::Pong(p)).await;
                }
                continue;
            };
            if !t.contains("\"message.new\"") {
                continue;
            }
            let arrived = now_us();
            let Ok(v) = serde_json::from_str::<Value>(&t) else {
                continue;
            };
            let Some(sent) = v["message"]["text"]
                .as_str()
                .and_then(|s| s.strip_prefix("t="))
                .and_then(|s| s.parse::<u64>().ok())
            else {
                continue;
            };
            if sent < seen.count_from_us.load(Ordering::Relaxed) {
                continue;
            }
            seen.count.fetch_add(1, Ordering::Relaxed);
            record(
                &mut seen.hist.lock().expect("histogram lock"),
                Duration::from_micros(arrived.saturating_sub(sent)),
            );
        }
    });
    Ok(())
}

pub(super) async fn run(ctx: &mut Ctx, mut rec: Record) -> Result<Record> {
    let s = ctx.scale.clone();
    let n = ctx.cluster_size(3);
    let chat = Chat::open(ctx, n).await?;
    let send_url = chat.leader_url().await;
    let others: Vec<String> = chat
        .urls
        .iter()
        .filter(|u| **u != send_url)
        .cloned()
        .collect();
    let api = StreamApi::new(&send_url);
    let channels = s.rooms.max(1);
    let mut users = Vec::new();
    for c in 0..channels {
        users.push(format!("s{c}"));
        users.extend((0..RECEIVERS_PER_CHANNEL).map(|r| format!("r{c}-{r}")));
    }
    api.upsert_users(&users).await?;
    for c in 0..channels {
        let members: Vec<String> = std::iter::once(format!("s{c}"))
            .chain((0..RECEIVERS_PER_CHANNEL).map(|r| format!("r{c}-{r}")))
            .collect();
        api.post(
            &format!("/channels/messaging/bench-{c}/query"),
            json!({ "data": { "created_by_id": format!("s{c}"), "members": members } }),
        )
        .await?;
    }
    let seen = Arc::new(Deliveries {
        hist: Mutex::new(new_hist()),
        count: AtomicU64::new(0),
        count_from_us: AtomicU64::new(u64::MAX),
    });
    for c in 0..channels {
        for r in 0..RECEIVERS_PER_CHANNEL {
            let base = if others.is_empty() {
                &send_url
            } else {
                &others[(c + r) % others.len()]
            };
            receiver(
                &api.at(base),
                base,
                &format!("r{c}-{r}"),
                &format!("bench-{c}"),
                seen.clone(),
            )
            .await?;
        }
    }
    let sender = Arc::new(api.clone());
    let send = move |seq: u64, text: String| {
        let api = sender.clone();
        async move {
            let c = seq as usize % channels;
            api.post(
                &format!("/channels/messaging/bench-{c}/message"),
                json!({ "message": { "text": text, "user_id": format!("s{c}") } }),
            )
            .await
            .map(|_| ())
            .map_err(|e| e.to_string())
        }
    };
    eprintln!(
        "[stream-chat] max send rate (closed loop, {} workers)",
        s.clients
    );
    let send_closed = send.clone();
    let max = closed_loop(
        s.clients,
        s.warmup,
        (s.duration / 2).max(Duration::from_secs(2)),
        move |_, seq| send_closed(seq, "warm".into()),
    )
    .await;
    let rate = (max.rate() * 0.5).max(1.0);
    eprintln!(
        "[stream-chat] open loop at {rate:.0} sends/s (max {:.0})",
        max.rate()
    );
    let t0 = start_soon();
    let t0_us = now_us() + (t0.saturating_duration_since(Instant::now())).as_micros() as u64;
    let intended_us = move |seq: u64| t0_us + (seq as f64 * 1e6 / rate) as u64;
    seen.count_from_us
        .store(t0_us + s.warmup.as_micros() as u64, Ordering::Relaxed);
    let send_open = send.clone();
    let ours = open_loop(
        t0,
        rate,
        s.warmup,
        s.duration,
        Duration::from_secs(5),
        s.clients,
        move |_, seq| send_open(seq, format!("t={}", intended_us(seq))),
    )
    .await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    let delivered = seen.count.load(Ordering::Relaxed);
    let expected = ours.ok * RECEIVERS_PER_CHANNEL as u64;
    let hist = seen.hist.lock().expect("histogram lock").clone();
    drop(chat);
    rec.ours = quantile_ms(&ours.hist, 0.99);
    let delivery_p99 = quantile_ms(&hist, 0.99);
    rec.detail("max_send_rate", max.summary());
    rec.detail("ours", ours.summary());
    rec.detail(
        "delivery",
        json!({
            "expected": expected,
            "delivered": delivered,
            "latency_from_intended_send": crate::util::hist_summary(&hist),
        }),
    );
    let mut reference = None;
    if !ctx.no_reference {
        eprintln!("[stream-chat] reference JetStream R3 sync_interval=always at {rate:.0}/s");
        let body = bytes::Bytes::from(
            json!({ "message": { "text": "t=0000000000000000", "user_id": "s0" } }).to_string(),
        );
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
    rec.met = Some(
        rec.ours.is_some_and(|p| p <= 40.0)
            && delivery_p99.is_some_and(|p| p <= 25.0)
            && delivered >= expected
            && ours.errors == 0,
    );
    rec.scale = s.describe_timed(json!({
        "nodes": n, "channels": channels, "receivers_per_channel": RECEIVERS_PER_CHANNEL,
        "rate_per_s": round(rate, 1), "max_rate_per_s": round(max.rate(), 1), "workers": s.clients,
        "sends_to": "the leader, server token", "receivers_on": "the other nodes",
        "delivery_p99_ms": delivery_p99,
    }));
    Ok(rec)
}
