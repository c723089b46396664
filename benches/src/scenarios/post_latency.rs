//! post-latency: post latency percentiles at a fixed open-loop rate.

use super::{unique, Chat, Ctx, Meta, PostTargets};
use crate::api::{self, post_body};
use crate::reference::{self};
use crate::report::Record;
use crate::util::{quantile_ms, round};
use anyhow::Result;
use serde_json::json;
use std::time::Duration;

/// What the scenario is judged on.
pub(super) const META: Meta = Meta {
    name: "post-latency",
    unit: "ms (p99)",
    better: "lower",
    target: "p99 ≤ 20 ms on 3 nodes at 50% of the max rate",
    local_only: None,
};

pub(super) async fn run(ctx: &mut Ctx, mut rec: Record) -> Result<Record> {
    let s = ctx.scale.clone();
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
            let r = PostTargets::new(&chat.api, &urls, (&ns, &rooms), s.clients, body.clone())
                .closed(s.warmup, (s.duration / 2).max(Duration::from_secs(2)))
                .await;
            ctx.max_rate.insert(n, r.rate());
            (r.rate(), "closed-loop run on this cluster just before")
        }
    };
    let rate = (max * 0.5).max(1.0);
    eprintln!("[post-latency] open loop at {rate:.0} posts/s (max {max:.0})");
    let ours = PostTargets::new(&chat.api, &urls, (&ns, &rooms), s.clients, body.clone())
        .open(rate, s.warmup, s.duration)
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
