//! catch-up: a new node joining a cluster holding many messages.

use super::{unique, Chat, Ctx, Meta};
use crate::api::{self, post_body, post_path};
use crate::procs::cluster_status;
use crate::report::Record;
use crate::util::{files_size, round};
use anyhow::{anyhow, bail, Context, Result};
use serde_json::{json, Value};
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

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

/// What the scenario is judged on.
pub(super) const META: Meta = Meta {
    name: "catch-up",
    unit: "s (until the new node serves reads)",
    better: "lower",
    target: "report time and snapshot MB/s (1,000,000 messages)",
    local_only: Some(
        "catch-up starts a new node: needs a cluster started by the generator (no --target)",
    ),
};

pub(super) async fn run(ctx: &mut Ctx, mut rec: Record) -> Result<Record> {
    let s = ctx.scale.clone();
    let m = s.catchup_messages;
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
    let st = cluster_status(&cluster.api, &cluster.kit.nodes[0]).await?;
    let leader_applied = st["appliedIndex"].as_u64().unwrap_or(0);
    cluster
        .api
        .with_timeout(Duration::from_secs(600))
        .post_ok("/admin/cluster/snapshot", json!({}))
        .await
        .context("trigger snapshot")?;
    let started = Instant::now();
    loop {
        let st = cluster_status(&cluster.api, &cluster.kit.nodes[0]).await?;
        if st["snapshotIndex"].as_u64().unwrap_or(0) >= leader_applied {
            break;
        }
        if started.elapsed() > Duration::from_secs(600) {
            bail!("no snapshot at index {leader_applied} after 10 min: {st}");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let snap_bytes = find_snapshot_bytes(cluster.kit.nodes[0].data_dir());
    eprintln!(
        "[catch-up] snapshot {:.1} MB; starting a new node",
        snap_bytes as f64 / 1e6
    );
    let nats_url = cluster.nats.as_ref().map(|n| n.url(0));
    let t_spawn = Instant::now();
    let node2 = testkit::Node::start(ctx.env.node_opts(2, nats_url.as_deref()).join()).await?;
    let spawn_s = t_spawn.elapsed().as_secs_f64();
    let raft2 = node2.raft_addr().to_string();
    let url2 = node2.url();
    let data2 = node2.data_dir().to_path_buf();
    cluster.kit.nodes.push(node2);
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
