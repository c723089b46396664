//! post-throughput: the highest sustained post rate (closed loop), 1 and 3 nodes.

use super::{table_row, unique, Chat, Ctx, Meta, PostTargets};
use crate::api::{self, post_body};
use crate::load::LoadResult;
use crate::reference::{self};
use crate::report::Record;
use crate::util::round;
use anyhow::Result;
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::time::Duration;

/// What the scenario is judged on.
pub(super) const META: Meta = Meta {
    name: "post-throughput",
    unit: "posts/s",
    better: "higher",
    target: "≥ 30,000/s (1 node), ≥ 15,000/s (3 nodes), ≥ 0.5× JetStream sync=always",
    local_only: None,
};

pub(super) async fn run(ctx: &mut Ctx, mut rec: Record) -> Result<Record> {
    let s = ctx.scale.clone();
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
        let r = PostTargets::new(&chat.api, &urls, (&ns, &rooms), s.clients, body.clone())
            .closed(s.warmup, s.duration)
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
