//! WebSocket listeners: one per listener user, connected to a random node, logged in,
//! bound with setUserId in the gateway namespace, recording every notification frame.
//! When the connection ends (node killed, restarted, removed) the listener reconnects to a
//! random node and binds again; now and then it also leaves on its own (churn). Each
//! connection is one [`crate::history::SessionRecord`]: bound when the setUserId answer
//! arrived, closed when the client noticed the end (or decided to leave), so the recorded
//! online interval is never longer than the real one.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use rand::Rng;
use tokio::time::Instant;

use super::{listener_user, Ctx};
use crate::history::SessionRecord;
use crate::ws::{Frame, WsConn};

/// Connect, login and bind, each.
const STEP_TIMEOUT: Duration = Duration::from_secs(5);
/// The official SDK pings every 10 s; nodes close sockets silent for 90 s.
const PING_EVERY: Duration = Duration::from_secs(10);

fn record(rec: &Mutex<SessionRecord>, ns: &str, f: Frame) {
    let mut r = rec.lock().expect("session lock");
    match f {
        Frame::Post(p) if p.namespace == ns => r.received.push(p),
        Frame::Post(p) => r
            .bad_frames
            .push(format!("notification for namespace {}: {p:?}", p.namespace)),
        Frame::Bad(s) => r.bad_frames.push(s),
        _ => {}
    }
}

fn close(rec: &Mutex<SessionRecord>, reason: String) {
    let mut r = rec.lock().expect("session lock");
    r.closed = Some(std::time::Instant::now());
    r.close_reason = reason;
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
        let ns = ctx.ns.clone();
        let mut on_post = |f: Frame| record(&rec, &ns, f);
        let opened = async {
            let mut c = WsConn::connect(&ep.ws, STEP_TIMEOUT).await?;
            c.login(STEP_TIMEOUT, &mut on_post).await?;
            c.bind(&ctx.gw, &user, STEP_TIMEOUT, &mut on_post).await?;
            anyhow::Ok(c)
        }
        .await;
        let mut conn = match opened {
            Ok(c) => c,
            Err(e) => {
                close(&rec, format!("setup failed: {e:#}"));
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
                f = conn.next_frame() => match f {
                    Frame::Closed(why) => {
                        close(&rec, why);
                        avoid = Some(ep.id);
                        break;
                    }
                    other => record(&rec, &ctx.ns, other),
                },
                _ = ping.tick() => {
                    if let Err(e) = conn.ping().await {
                        close(&rec, format!("{e:#}"));
                        break;
                    }
                }
                _ = tokio::time::sleep_until(churn_at) => {
                    close(&rec, "client left (churn)".into());
                    conn.close().await;
                    break;
                }
                _ = stop.changed() => {
                    // Open until the end of the run: `closed` stays `None`.
                    rec.lock().expect("session lock").close_reason = "open at the end".into();
                    conn.close().await;
                    return;
                }
            }
        }
        tokio::time::sleep(Duration::from_millis(rng.gen_range(100..500))).await;
    }
}
