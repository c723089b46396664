//! connections: how many bound sessions one node holds, and what they cost.

use super::sessions::open_sessions;
use super::{unique, Chat, Ctx, Meta};
use crate::api::{self};
use crate::procs::EchoProc;
use crate::report::Record;
use crate::util::{round, rss_kib};
use crate::wsclient::{self, Creds, Ws};
use anyhow::{bail, Context, Result};
use futures::{SinkExt, StreamExt};
use serde_json::json;
use std::time::{Duration, Instant};
use tokio_tungstenite::tungstenite::Message;

/// What the scenario is judged on.
pub(super) const META: Meta = Meta {
    name: "connections",
    unit: "MiB RSS",
    better: "lower",
    target: "50,000 idle bound sessions on 1 node within 1 GiB RSS",
    local_only: None,
};

pub(super) async fn run(ctx: &mut Ctx, mut rec: Record) -> Result<Record> {
    let s = ctx.scale.clone();
    // Each session is a file descriptor in the node and one in the generator.
    let fd_cap = (ctx.nofile as usize).saturating_sub(1000).max(1);
    let n = s.sessions.min(fd_cap);
    if n < s.sessions {
        eprintln!(
            "[connections] the open-file limit ({}) allows only {n} of the {} sessions asked for \
             (raise it: `ulimit -n`, or run as root with CAP_SYS_RESOURCE); met is judged on the \
             projection",
            ctx.nofile, s.sessions
        );
    }
    let chat = Chat::open(ctx, 1).await?;
    let pid = match &chat.local {
        Some(c) => c.kit.nodes[0].pid(),
        None => ctx.node_pid,
    };
    let gw = unique("gw");
    api::create_gateway_ns(&chat.api, &gw).await?;
    let creds = Creds {
        client_id: chat.api.client_id().to_owned(),
        project_token: chat.api.token().to_owned(),
    };
    let addr = chat.ws_addrs()?[0];
    let before = pid.and_then(|p| rss_kib(p).ok());
    eprintln!("[connections] opening {n} sessions");
    let users: Vec<String> = (0..n).map(|i| format!("c{i}")).collect();
    let t = Instant::now();
    let (sessions, failed, first_err) = open_sessions(&[addr], &creds, &gw, &users, 256).await;
    let open_s = t.elapsed().as_secs_f64();
    tokio::time::sleep(Duration::from_secs(1)).await;
    let after = pid.and_then(|p| rss_kib(p).ok());
    let established = sessions.len();
    eprintln!(
        "[connections] {established} sessions in {open_s:.1}s; RSS {before:?} → {after:?} KiB"
    );
    drop(sessions);
    drop(chat);
    let mib = |k: u64| k as f64 / 1024.0;
    rec.ours = after.map(|a| round(mib(a), 1));
    let per_session_kib = match (before, after) {
        (Some(b), Some(a)) if established > 0 => {
            Some(a.saturating_sub(b) as f64 / established as f64)
        }
        _ => None,
    };
    let projected = match (before, per_session_kib) {
        (Some(b), Some(p)) => Some(mib(b) + p * 50_000.0 / 1024.0),
        _ => None,
    };
    rec.met = match (after, projected) {
        (None, _) => None,
        (Some(a), _) if n >= 50_000 => Some(established >= 50_000 && mib(a) <= 1024.0),
        (Some(_), Some(p)) => Some(failed == 0 && p <= 1024.0),
        _ => None,
    };
    rec.detail(
        "ours",
        json!({"sessions_requested": n, "sessions_established": established, "failed": failed,
               "first_error": first_err, "open_s": round(open_s, 2),
               "rss_before_mib": before.map(|b| round(mib(b), 1)),
               "rss_after_mib": after.map(|a| round(mib(a), 1)),
               "per_session_kib": per_session_kib.map(|x| round(x, 2)),
               "projected_rss_at_50000_mib": projected.map(|x| round(x, 1)),
               "met_judged_on": if n >= 50_000 { "measured RSS at 50,000 sessions" } else { "projection to 50,000 sessions from the measured per-session growth" }}),
    );
    if ctx.no_reference {
        rec.with_reference("none (--no-reference)", None);
    } else {
        eprintln!("[connections] reference: tokio-tungstenite echo server, {n} connections");
        let echo = EchoProc::start(&ctx.env).await?;
        let epid = echo.pid().context("echo pid")?;
        let eb = rss_kib(epid).ok();
        let conns: Vec<Result<Ws>> = futures::stream::iter((0..n).map(|i| {
            let addr = echo.addr;
            async move {
                let mut ws = wsclient::connect(addr, Some(wsclient::source_ip(i))).await?;
                for _ in 0..2 {
                    ws.send(Message::Text("{\"hello\":true}".into())).await?;
                    match ws.next().await {
                        Some(Ok(_)) => {}
                        other => bail!("echo: {other:?}"),
                    }
                }
                Ok(ws)
            }
        }))
        .buffer_unordered(256)
        .collect()
        .await;
        let ok = conns.iter().filter(|c| c.is_ok()).count();
        tokio::time::sleep(Duration::from_secs(1)).await;
        let ea = rss_kib(epid).ok();
        drop(conns);
        drop(echo);
        rec.with_reference(
            "tokio-tungstenite echo server RSS at the same connection count",
            ea.map(|a| round(mib(a), 1)),
        );
        rec.detail(
            "reference",
            json!({"connections": ok, "rss_before_mib": eb.map(|b| round(mib(b), 1)),
                   "rss_after_mib": ea.map(|a| round(mib(a), 1)),
                   "per_connection_kib": match (eb, ea) { (Some(b), Some(a)) if ok > 0 => Some(round(a.saturating_sub(b) as f64 / ok as f64, 2)), _ => None }}),
        );
    }
    rec.scale = s.describe(json!({"sessions": n, "sessions_asked": s.sessions,
        "capped_by_open_file_limit": (n < s.sessions).then_some(ctx.nofile)}));
    Ok(rec)
}
