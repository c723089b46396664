//! fanout: one post delivered to many subscribers.

use super::sessions::push_run;
use super::{measure_reference, Chat, Ctx, Meta};
use crate::reference::{self, PushLoad};
use crate::report::Record;
use anyhow::Result;
use serde_json::json;

/// The size of a chat post notification frame as the node sends it (for the reference).
fn notification_frame_size() -> usize {
    r#"{"type":"notification","body":{"issuer":"Gs2Chat:Post","subject":"Gs2Chat:Post","payload":"{\"namespaceName\":\"push1a2b3c4d\",\"roomName\":\"room-0\",\"userId\":\"e12345\",\"category\":0,\"createdAt\":1763760000000}"}}"#.len()
}

/// What the scenario is judged on.
pub(super) const META: Meta = Meta {
    name: "fanout",
    unit: "deliveries/s",
    better: "higher",
    target: "≥ 150,000/s with 10,000 subscribers on 1 node, none missing",
    local_only: None,
};

pub(super) async fn run(ctx: &mut Ctx, mut rec: Record) -> Result<Record> {
    let s = ctx.scale.clone();
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
    measure_reference(
        ctx,
        &mut rec,
        (
            "[fanout] reference NATS core fan-out",
            "NATS core fan-out deliveries/s",
        ),
        reference::nats_fanout(&ctx.env, p),
        |r| r["deliveries_per_s"].as_f64(),
    )
    .await?;
    rec.scale = s.describe_timed(json!({"subscribers": p.subscribers, "posts_per_s": p.rate,
        "offered_deliveries_per_s": p.rate * p.subscribers as f64}));
    Ok(rec)
}
