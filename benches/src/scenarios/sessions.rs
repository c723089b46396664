//! Bound WebSocket sessions and the push run shared by e2e-delivery and fanout.

use super::{send_post, unique, Chat, Ctx};
use crate::api::{self, concurrently, post_body, post_path, Api};
use crate::load::start_soon;
use crate::measure::Deliveries;
use crate::reference::PushLoad;
use crate::util::round;
use crate::wsclient::{self, Closed, Creds, Ws};
use anyhow::{bail, Result};
use futures::StreamExt;
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Opens a bound session per user (`users[i]` on `addrs[i % n]`), `limit` at a time.
pub(super) async fn open_sessions(
    addrs: &[SocketAddr],
    creds: &Creds,
    gw: &str,
    users: &[String],
    limit: usize,
) -> (Vec<(usize, Ws)>, usize, Option<String>) {
    let results: Vec<(usize, Result<Ws>)> =
        futures::stream::iter(users.iter().enumerate().map(|(i, u)| {
            let addr = addrs[i % addrs.len()];
            let creds = creds.clone();
            let gw = gw.to_owned();
            let u = u.clone();
            async move { (i, wsclient::open_session(addr, i, &creds, &gw, &u).await) }
        }))
        .buffer_unordered(limit)
        .collect()
        .await;
    let mut ok = Vec::new();
    let mut failed = 0;
    let mut first = None;
    for (i, r) in results {
        match r {
            Ok(ws) => ok.push((i, ws)),
            Err(e) => {
                failed += 1;
                first.get_or_insert_with(|| format!("{e:#}"));
            }
        }
    }
    (ok, failed, first)
}

/// Spawns a notification reader per session, feeding post `e<seq>` deliveries into `dl`.
pub(super) fn spawn_readers(
    sessions: Vec<(usize, Ws)>,
    dl: &Arc<Deliveries>,
    stop: &tokio::sync::watch::Receiver<bool>,
) -> Vec<tokio::task::JoinHandle<Option<Closed>>> {
    sessions
        .into_iter()
        .map(|(i, ws)| {
            let dl = dl.clone();
            tokio::spawn(wsclient::read_notifications(
                ws,
                stop.clone(),
                move |text, at| match wsclient::poster_of(text)
                    .and_then(|u| u.strip_prefix('e'))
                    .and_then(|s| s.parse().ok())
                {
                    Some(seq) => dl.delivered(i, seq, at),
                    None => {
                        dl.unknown.fetch_add(1, Ordering::Relaxed);
                    }
                },
            ))
        })
        .collect()
}

pub(super) async fn collect_ends(readers: Vec<tokio::task::JoinHandle<Option<Closed>>>) -> Value {
    let mut closed: BTreeMap<String, u64> = BTreeMap::new();
    for r in readers {
        match r.await {
            Ok(None) => {}
            Ok(Some(Closed::Frame { code, reason })) => {
                *closed.entry(format!("{code} {reason}")).or_default() += 1
            }
            Ok(Some(Closed::Ended)) => *closed.entry("1006 stream ended".into()).or_default() += 1,
            Ok(Some(Closed::Error(e))) => *closed.entry(format!("error {e}")).or_default() += 1,
            Err(e) => *closed.entry(format!("task {e}")).or_default() += 1,
        }
    }
    json!(closed)
}

/// The push run shared by e2e-delivery and fanout: subscribers bound over `chat`'s nodes,
/// posts at `p.rate` as users `e<seq>` to room `seq % rooms`.
pub(super) async fn push_run(
    ctx: &Ctx,
    chat: &Chat,
    p: PushLoad,
    sub_nodes: &[SocketAddr],
) -> Result<Value> {
    let ns = unique("push");
    let gw = unique("gw");
    let rooms = api::setup_rooms(&chat.api, &ns, Some(&gw), p.rooms).await?;
    let users: Vec<String> = (0..p.subscribers).map(|i| format!("s{i}")).collect();
    let mut subs_per_room = vec![0usize; p.rooms];
    for i in 0..p.subscribers {
        subs_per_room[i % p.rooms] += 1;
    }
    let t = Instant::now();
    concurrently(
        users.iter().enumerate().collect::<Vec<_>>(),
        32,
        |(i, u)| {
            let api = chat.api.clone();
            let (ns, room, u) = (ns.clone(), rooms[i % p.rooms].clone(), u.clone());
            async move { api::subscribe(&api, &ns, &room, &u).await }
        },
    )
    .await?;
    let subscribe_s = t.elapsed().as_secs_f64();
    let creds = Creds {
        client_id: chat.api.client_id().to_owned(),
        project_token: chat.api.token().to_owned(),
    };
    let t = Instant::now();
    let (sessions, failed, first_err) = open_sessions(sub_nodes, &creds, &gw, &users, 128).await;
    let sessions_s = t.elapsed().as_secs_f64();
    if failed > 0 {
        bail!(
            "{failed} of {} sessions failed: {}",
            users.len(),
            first_err.unwrap_or_default()
        );
    }
    eprintln!(
        "[push] {} subscribers bound on {} node(s) (subscribe {subscribe_s:.1}s, sessions {sessions_s:.1}s)",
        p.subscribers,
        sub_nodes.len()
    );
    let t0 = start_soon() + Duration::from_millis(500);
    let dl = p.deliveries(t0);
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let readers = spawn_readers(sessions, &dl, &stop_rx);
    let urls = chat.post_urls(ctx.post_to_leader).await;
    let api = chat.api.fresh_pool();
    let apis: Arc<Vec<Api>> = Arc::new(urls.iter().map(|u| api.at(u)).collect());
    let rooms = Arc::new(rooms);
    let body = post_body(&crate::util::metadata_of(ctx.scale.msg_size));
    let ns2 = ns.clone();
    let load = p
        .post_and_drain(
            t0,
            &dl,
            &subs_per_room,
            Duration::from_secs(30),
            move |seq, room| {
                let apis = apis.clone();
                let path = post_path(&ns2, &rooms[room], &format!("e{seq}"));
                let body = body.clone();
                async move { send_post(&apis[seq as usize % apis.len()], &path, body).await }
            },
        )
        .await;
    let _ = stop_tx.send(true);
    let closed = collect_ends(readers).await;
    let mut v = dl.summary(&subs_per_room);
    v["posts"] = load.summary();
    v["connections_closed_by_server"] = closed;
    v["setup"] = json!({"subscribe_s": round(subscribe_s, 2), "sessions_s": round(sessions_s, 2)});
    Ok(v)
}

pub(super) fn p99_of(v: &Value) -> Option<f64> {
    v["latency_from_intended_send"]["p99_ms"].as_f64()
}
