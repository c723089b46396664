//! e2e-delivery: post-to-notification latency to subscribers over WebSocket.

use super::sessions::{p99_of, push_run};
use super::{measure_reference, Chat, Ctx, Meta};
use crate::api::post_body;
use crate::reference::{self, PushLoad};
use crate::report::Record;
use anyhow::Result;
use serde_json::json;

/// What the scenario is judged on.
pub(super) const META: Meta = Meta {
    name: "e2e-delivery",
    unit: "ms (p99)",
    better: "lower",
    target: "p99 ≤ 25 ms (2,000 posts/s, 1,000 subscribers, 3 nodes), none missing",
    local_only: None,
};

pub(super) async fn run(ctx: &mut Ctx, mut rec: Record) -> Result<Record> {
    let s = ctx.scale.clone();
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
    measure_reference(
        ctx,
        &mut rec,
        (
            "[e2e-delivery] reference JetStream R3 publish → consume",
            "JetStream R3 sync_interval=always publish→consume p99",
        ),
        reference::js_e2e(&ctx.env, p),
        p99_of,
    )
    .await?;
    rec.scale = s.describe_timed(
        json!({"nodes": n, "subscribers": p.subscribers, "rooms": rooms,
        "subscribers_per_room": 10, "posts_per_s": p.rate, "post_workers": p.workers,
        "latency_from": "intended send time of the post (includes its acknowledgement)"}),
    );
    Ok(rec)
}
