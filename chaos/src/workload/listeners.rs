//! WebSocket listeners: one per listener user, connected to a random node, logged in,
//! bound with setUserId in the gateway namespace, recording every notification frame.
//! When the connection ends (node killed, restarted, removed) the listener reconnects to a
//! random node and binds again; now and then it also leaves on its own (churn). Each
//! connection is one [`crate::history::SessionRecord`]: bound when the setUserId answer
//! arrived, closed when the client noticed the end (or decided to leave), so the recorded
//! online interval is never longer than the real one.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::bail;
use rand::Rng;
use testkit::ws::{Closed, Notification};
use testkit::WsClient;
use tokio::time::Instant;

use super::{listener_user, Ctx};
use crate::api::{CLIENT_ID, CLIENT_SECRET};
use crate::history::{Received, SessionRecord};

/// Connect, login and bind, each.
const STEP_TIMEOUT: Duration = Duration::from_secs(5);
/// The official SDK pings every 10 s; nodes close sockets silent for 90 s.
const PING_EVERY: Duration = Duration::from_secs(10);
/// How often a listener with nothing to read looks whether its socket ended.
const IDLE_CHECK: Duration = Duration::from_millis(500);

/// A chat post notification as the history keeps it.
pub fn received(n: &Notification) -> Result<Received, String> {
    let p = n.post()?;
    Ok(Received {
        at: n.received_at,
        namespace: p.namespace,
        room: p.room,
        poster: p.user_id,
        category: p.category,
        created_at: p.created_at,
    })
}

fn record(rec: &Mutex<SessionRecord>, ns: &str, n: &Notification) {
    let mut r = rec.lock().expect("session lock");
    match received(n) {
        Ok(p) if p.namespace == ns => r.received.push(p),
        Ok(p) => r
            .bad_frames
            .push(format!("notification for namespace {}: {p:?}", p.namespace)),
        Err(why) => r.bad_frames.push(why),
    }
}

/// Ends the record: the frames no client could use, and (unless `None`: open at the
/// end of the run) when and why the connection ended.
fn finish(rec: &Mutex<SessionRecord>, ws: Option<&WsClient>, reason: Option<String>) {
    let mut r = rec.lock().expect("session lock");
    if let Some(ws) = ws {
        r.bad_frames.extend(ws.bad_frames());
    }
    match reason {
        Some(reason) => {
            r.closed = Some(std::time::Instant::now());
            r.close_reason = reason;
        }
        None => r.close_reason = "open at the end".into(),
    }
}

fn close_reason(c: &Closed) -> String {
    match c {
        Closed::Frame { code, reason } => format!("close frame {code} {reason}"),
        Closed::Ended => "end of stream".into(),
        Closed::Error(e) => format!("error: {e}"),
    }
}

/// Connects, logs in with the project credentials, logs `user` in and binds the
/// connection to it in gateway namespace `gw` (concurrent access allowed).
async fn open(url: &str, gw: &str, user: &str) -> anyhow::Result<WsClient> {
    let ws = WsClient::connect(url)
        .await?
        .with_call_timeout(STEP_TIMEOUT);
    ws.login(CLIENT_ID, CLIENT_SECRET).await?;
    let token = ws.player_login(user).await?;
    let (status, body) = ws.set_user_id(gw, &token, true, false).await?;
    if status != 200 {
        bail!("setUserId of {user} -> {status} {body}");
    }
    Ok(ws)
}

pub async fn listener(ctx: Arc<Ctx>, i: usize) {
    let mut rng = ctx.rng_for(3, i);
    let user = listener_user(i);
    let mut stop = ctx.stop_listen.clone();
    let mut avoid = None;
    while !ctx.listen_stopped() {
        let Some(ep) = ctx.pick(&mut rng, avoid) else {
            tokio::time::sleep(Duration::from_millis(200)).await;
            continue;
        };
        let rec = ctx.history.new_session(&user, ep.id);
        let ws = match open(&ep.ws, &ctx.gw, &user).await {
            Ok(ws) => ws,
            Err(e) => {
                finish(&rec, None, Some(format!("setup failed: {e:#}")));
                avoid = Some(ep.id);
                tokio::time::sleep(Duration::from_millis(rng.gen_range(200..1000))).await;
                continue;
            }
        };
        rec.lock().expect("session lock").bound = Some(std::time::Instant::now());
        avoid = None;
        let churn_at = Instant::now() + Duration::from_secs(rng.gen_range(60..180));
        let mut ping = tokio::time::interval_at(Instant::now() + PING_EVERY, PING_EVERY);
        loop {
            tokio::select! {
                n = ws.next_notification(IDLE_CHECK) => match n {
                    Some(n) => record(&rec, &ctx.ns, &n),
                    // Queued notifications come first, so an ended socket has none left.
                    None => if let Some(c) = ws.closed_state() {
                        finish(&rec, Some(&ws), Some(close_reason(&c)));
                        avoid = Some(ep.id);
                        break;
                    },
                },
                _ = ping.tick() => {
                    if let Err(e) = ws.ping().await {
                        finish(&rec, Some(&ws), Some(format!("{e:#}")));
                        break;
                    }
                }
                _ = tokio::time::sleep_until(churn_at) => {
                    finish(&rec, Some(&ws), Some("client left (churn)".into()));
                    ws.close().await;
                    break;
                }
                _ = stop.changed() => {
                    // Open until the end of the run: `closed` stays `None`.
                    finish(&rec, Some(&ws), None);
                    ws.close().await;
                    return;
                }
            }
        }
        tokio::time::sleep(Duration::from_millis(rng.gen_range(100..500))).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn post_notifications_become_received() {
        let n = Notification {
            frame: json!({"type": "notification", "body": {"issuer": "Gs2Chat:Post",
                "subject": "Gs2Chat:Post",
                "payload": "{\"namespaceName\":\"ns\",\"roomName\":\"r-1\",\"userId\":\"p-7\",\"category\":2,\"createdAt\":1717000000000}"}}),
            received_at: std::time::Instant::now(),
        };
        let r = received(&n).unwrap();
        assert_eq!((r.room.as_str(), r.poster.as_str()), ("r-1", "p-7"));
        assert_eq!((r.category, r.created_at), (2, 1717000000000));
        let history = crate::history::History::new(std::time::Instant::now());
        let rec = history.new_session("u", 1);
        record(&rec, "other", &n);
        assert_eq!(rec.lock().unwrap().bad_frames.len(), 1);
    }
}
