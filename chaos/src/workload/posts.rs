//! Posters: postByUserId into random rooms, each post with its own duplication avoider,
//! retried with the same avoider on another node after a timeout, a 5xx or a connection
//! error; then, for a share of the acknowledged posts, a read on a random node that must
//! see the post.
//!
//! Every post is made as its own user (`p-<op>`) with metadata naming the run and the
//! op, so a room listing and a notification payload both point back at one operation.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::Rng;
use serde_json::{json, Value};

use super::Ctx;
use crate::api::Retriable;
use crate::history::{PostOutcome, PostRecord, ReadRecord};

/// Retry budget of a read-after-ack.
const READ_BUDGET: Duration = Duration::from_secs(20);

pub async fn poster(ctx: Arc<Ctx>, i: usize) {
    let mut rng = ctx.rng_for(1, i);
    while !ctx.load_stopped() {
        let op = ctx.next_op.fetch_add(1, Ordering::Relaxed);
        let room = ctx.rooms.choose(&mut rng).expect("rooms").clone();
        let rec = post_op(&ctx, &mut rng, op, &room).await;
        let acked = rec
            .ack()
            .map(|(_, name, created)| (name.to_owned(), created));
        ctx.history.posts.lock().expect("posts lock").push(rec);
        if let Some((name, created_at)) = acked {
            if rng.gen_bool(ctx.cfg.read_ratio) {
                read_after_ack(&ctx, &mut rng, op, &room, &name, created_at).await;
            }
        }
        let think = ctx.cfg.think.as_millis() as u64;
        tokio::time::sleep(Duration::from_millis(
            rng.gen_range(think / 2..=think * 3 / 2),
        ))
        .await;
    }
}

/// One post, retried until acknowledged, refused, or out of budget.
pub async fn post_op(ctx: &Ctx, rng: &mut StdRng, op: u64, room: &str) -> PostRecord {
    let user = format!("p-{op}");
    let metadata = format!("chaos-{}-op-{op}", ctx.seed);
    let avoider = format!("chaos-{}-{op}", ctx.seed);
    let category = rng.gen_range(0..4i64);
    let path = format!("/chat/{}/room/{room}/message/user/{user}", ctx.ns);
    let body = json!({"category": category, "metadata": metadata});
    let first_sent = Instant::now();
    let mut attempts = 0u32;
    let mut avoid = None;
    let mut last_error = String::from("no endpoint");
    let outcome = loop {
        if first_sent.elapsed() > ctx.cfg.op_budget {
            break PostOutcome::Indeterminate { last_error };
        }
        let Some(ep) = ctx.pick_or_backoff(rng, avoid).await else {
            continue;
        };
        attempts += 1;
        ctx.history.http_attempts.fetch_add(1, Ordering::Relaxed);
        let sent = Instant::now();
        let r = ctx
            .api
            .post(&ep.base, &path, body.clone(), &ctx.opts().avoider(&avoider))
            .await;
        match r {
            Ok(r) if r.status == 200 => {
                let item = &r.body["item"];
                let name = item["name"].as_str().unwrap_or_default().to_owned();
                let created_at = item["createdAt"].as_i64().unwrap_or(0);
                if name.is_empty() || item["metadata"].as_str() != Some(metadata.as_str()) {
                    ctx.history.warn(format!(
                        "op {op}: 200 from node {} with an unexpected item: {}",
                        ep.id,
                        r.brief()
                    ));
                }
                break PostOutcome::Acked {
                    at: Instant::now(),
                    attempt_sent: sent,
                    name,
                    created_at,
                    node: ep.id,
                };
            }
            Ok(r) if !r.retriable() => {
                ctx.history.warn(format!(
                    "op {op}: post refused by node {}: {}",
                    ep.id,
                    r.brief()
                ));
                break PostOutcome::Rejected {
                    status: r.status,
                    text: r.text,
                    node: ep.id,
                };
            }
            Ok(r) => last_error = format!("node {}: {}", ep.id, r.brief()),
            Err(e) => last_error = format!("node {}: {e:#}", ep.id),
        }
        avoid = Some(ep.id);
        Ctx::backoff(rng).await;
    };
    PostRecord {
        op,
        room: room.to_owned(),
        user,
        metadata,
        category,
        avoider,
        first_sent,
        attempts,
        outcome,
    }
}

/// describeMessagesByUserId (default consistency: read-your-writes) on a random node,
/// from the post's `createdAt`, retried on failures; records whether the post was seen.
async fn read_after_ack(
    ctx: &Ctx,
    rng: &mut StdRng,
    op: u64,
    room: &str,
    name: &str,
    created_at: i64,
) {
    ctx.history.reads_attempted.fetch_add(1, Ordering::Relaxed);
    let path = format!("/chat/{}/room/{room}/message/get", ctx.ns);
    let query = [
        ("userId", "chaos-reader".to_owned()),
        ("startAt", created_at.to_string()),
        ("limit", "1000".to_owned()),
    ];
    let started = Instant::now();
    let mut avoid = None;
    while started.elapsed() < READ_BUDGET {
        let Some(ep) = ctx.pick_or_backoff(rng, avoid).await else {
            continue;
        };
        let sent = Instant::now();
        let r = ctx.api.get(&ep.base, &path, &query, &ctx.opts()).await;
        match r {
            Ok(r) if r.status == 200 => {
                let items = r.body["items"].as_array().cloned().unwrap_or_default();
                let found = items
                    .iter()
                    .any(|m| m.get("name").and_then(Value::as_str) == Some(name));
                ctx.history
                    .reads
                    .lock()
                    .expect("reads lock")
                    .push(ReadRecord {
                        op,
                        room: room.to_owned(),
                        name: name.to_owned(),
                        node: ep.id,
                        sent,
                        done: Instant::now(),
                        found,
                        items: items.len(),
                    });
                return;
            }
            Ok(r) if !r.retriable() => {
                ctx.history.warn(format!(
                    "read after op {op} refused by node {}: {}",
                    ep.id,
                    r.brief()
                ));
                return;
            }
            _ => {}
        }
        avoid = Some(ep.id);
        Ctx::backoff(rng).await;
    }
    ctx.history.reads_unanswered.fetch_add(1, Ordering::Relaxed);
}
