//! failover: from SIGKILL of the leader to the first successful post after it.

use super::{send_post, unique, Chat, Ctx, Meta};
use crate::api::{self, post_body, post_path, Api};
use crate::report::Record;
use crate::util::round;
use anyhow::{bail, Context, Result};
use serde_json::json;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// What the scenario is judged on.
pub(super) const META: Meta = Meta {
    name: "failover",
    unit: "ms (median)",
    better: "lower",
    target: "kill -9 leader → first write: ≤ 1 s median, ≤ 2 s max",
    local_only: Some(
        "failover kills processes: needs a cluster started by the generator (no --target)",
    ),
};

pub(super) async fn run(ctx: &mut Ctx, mut rec: Record) -> Result<Record> {
    let s = ctx.scale.clone();
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
        cluster.wait_agreement().await?;
        let before = oks.load(Ordering::Relaxed);
        tokio::time::sleep(Duration::from_secs(1)).await;
        if oks.load(Ordering::Relaxed) == before {
            bail!("no successful write in the second before round {round_no}");
        }
        let leader = cluster.wait_leader(Duration::from_secs(30)).await?;
        let idx = cluster
            .kit
            .nodes
            .iter()
            .position(|n| n.id() == leader)
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
        cluster
            .node_mut(leader)
            .restart_within(Duration::from_secs(20))
            .await?;
        alive[idx].store(true, Ordering::SeqCst);
        cluster.wait_agreement().await?;
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
