//! Subscription changes: each listener user toggles its subscription to one random room
//! at a time (subscribeByUserId with every category / unsubscribeByUserId), with a
//! duplication avoider, retried like posts. Operations on one (user, room) pair are
//! sequential, so the checkers know the subscription state between them.

use std::collections::HashMap;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::Rng;
use serde_json::json;

use super::{listener_user, Ctx};
use crate::api::Retriable;
use crate::history::{SubKind, SubRecord};

pub async fn toggler(ctx: Arc<Ctx>, i: usize) {
    let mut rng = ctx.rng_for(2, i);
    let user = listener_user(i);
    // What the initial setup left: subscribed where an acknowledged subscribe exists.
    let mut state: HashMap<String, Option<bool>> =
        ctx.rooms.iter().map(|r| (r.clone(), Some(false))).collect();
    for s in ctx.history.subs.lock().expect("subs lock").iter() {
        if s.user == user && s.acked {
            state.insert(s.room.clone(), Some(s.kind == SubKind::Subscribe));
        }
    }
    loop {
        // Subscriptions change slowly next to posts, so most posts meet a stable state.
        let wait = Duration::from_millis(rng.gen_range(1500..4500));
        tokio::time::sleep(wait).await;
        if ctx.load_stopped() {
            return;
        }
        let room = ctx.rooms.choose(&mut rng).expect("rooms").clone();
        let kind = match state[&room] {
            Some(true) => SubKind::Unsubscribe,
            _ => SubKind::Subscribe,
        };
        let rec = sub_op(&ctx, &mut rng, &user, &room, kind).await;
        state.insert(
            room,
            if rec.acked {
                Some(kind == SubKind::Subscribe)
            } else {
                None
            },
        );
        ctx.history.subs.lock().expect("subs lock").push(rec);
    }
}

/// One subscribe or unsubscribe, retried until the resulting state is known: 200, or
/// 409 (already subscribed) / 404 (already unsubscribed).
pub async fn sub_op(
    ctx: &Ctx,
    rng: &mut StdRng,
    user: &str,
    room: &str,
    kind: SubKind,
) -> SubRecord {
    let path = format!("/chat/{}/user/{user}/room/{room}/subscribe", ctx.ns);
    let avoider = format!("chaos-{}-sub-{}", ctx.seed, uuid::Uuid::new_v4().simple());
    let sent = Instant::now();
    let mut avoid = None;
    let mut detail = String::from("no endpoint");
    let acked = loop {
        if sent.elapsed() > ctx.cfg.op_budget {
            break false;
        }
        let Some(ep) = ctx.pick_or_backoff(rng, avoid).await else {
            continue;
        };
        ctx.history.http_attempts.fetch_add(1, Ordering::Relaxed);
        let opts = ctx.opts().avoider(&avoider);
        let r = match kind {
            SubKind::Subscribe => {
                ctx.api
                    .post(&ep.base, &path, json!({"notificationTypes": []}), &opts)
                    .await
            }
            SubKind::Unsubscribe => ctx.api.delete(&ep.base, &path, &opts).await,
        };
        match r {
            Ok(r) if r.status == 200 => {
                detail = format!("200 via node {}", ep.id);
                break true;
            }
            Ok(r) if kind == SubKind::Subscribe && r.status == 409 => {
                detail = format!("409 (already subscribed) via node {}", ep.id);
                break true;
            }
            Ok(r) if kind == SubKind::Unsubscribe && r.status == 404 => {
                detail = format!("404 (not subscribed) via node {}", ep.id);
                break true;
            }
            Ok(r) if !r.retriable() => {
                detail = format!("node {}: {}", ep.id, r.brief());
                ctx.history
                    .warn(format!("{kind:?} {user} {room} refused: {detail}"));
                break false;
            }
            Ok(r) => detail = format!("node {}: {}", ep.id, r.brief()),
            Err(e) => detail = format!("node {}: {e:#}", ep.id),
        }
        avoid = Some(ep.id);
        Ctx::backoff(rng).await;
    };
    SubRecord {
        user: user.to_owned(),
        room: room.to_owned(),
        kind,
        sent,
        resolved: Instant::now(),
        acked,
        detail,
    }
}
