//! Every subscriber that was online when a post was made, and still online when its
//! notification was due, received that post's notification exactly once, in per-room
//! order; and no socket received any notification twice.
//!
//! "Online" is judged conservatively from the client's records: the session's setUserId
//! answer arrived before the post's first attempt was sent, and the client noticed no
//! disconnection until the notification was due ([`Observed::due`]: the acknowledgement
//! plus the grace, pushed past the recovery of every fault overlapping the post).
//! "Subscriber" likewise: an acknowledged subscribe resolved before the post was sent
//! and no subscription change for that room was sent before the notification was due.
//! Order: within one socket and one room, notifications follow the room's stored order
//! (two messages stamped in the same millisecond may come either way).
//! Also checked for every frame received: it names a post that exists, with the room,
//! category and `createdAt` the post has.

use std::collections::HashMap;

use super::{due_in_session, subscribed_throughout, Collector, Observed};
use crate::history::PostOutcome;

pub const NAME: &str = "notification-exactly-once-in-order";

pub fn check(obs: &Observed, out: &mut Collector) {
    let by_user = obs.posts_by_user();
    let timelines = obs.sub_timelines();
    let mut position: HashMap<(&str, &str), (usize, i64)> = HashMap::new();
    if let Some((_, listing)) = obs.reference() {
        for (room, msgs) in listing {
            for (i, m) in msgs.iter().enumerate() {
                position.insert((room.as_str(), m.metadata.as_str()), (i, m.created_at));
            }
        }
    }
    let acked = obs.acked_by_sent();

    for s in &obs.sessions {
        let who = format!(
            "session {} of {} on node {} (bound {}, closed {})",
            s.seq,
            s.user,
            s.node,
            s.bound
                .map(|b| format!("{:.1}s", obs.secs(b)))
                .unwrap_or("never".into()),
            s.closed
                .map(|c| format!("{:.1}s: {}", obs.secs(c), s.close_reason))
                .unwrap_or("at the end".into()),
        );
        for b in &s.bad_frames {
            out.push(NAME, format!("{who}: malformed notification frame: {b}"));
        }
        out.stat("notifications received", s.received.len() as u64);
        let mut count: HashMap<&str, usize> = HashMap::new();
        let mut last_in_room: HashMap<&str, (usize, i64, &str)> = HashMap::new();
        for r in &s.received {
            let Some(p) = by_user.get(r.poster.as_str()) else {
                out.push(
                    NAME,
                    format!(
                        "{who}: notification from unknown poster {:?} in room {}",
                        r.poster, r.room
                    ),
                );
                continue;
            };
            let n = count.entry(p.user.as_str()).or_default();
            *n += 1;
            if *n == 2 {
                out.push(
                    NAME,
                    format!(
                        "{who}: notification of op {} (room {}) received more than once",
                        p.op, p.room
                    ),
                );
            }
            if *n > 1 {
                continue;
            }
            let created = match &p.outcome {
                PostOutcome::Acked { created_at, .. } => Some(*created_at),
                _ => None,
            };
            if r.room != p.room
                || r.category != p.category
                || created.is_some_and(|c| c != r.created_at)
            {
                out.push(NAME, format!(
                    "{who}: notification of op {} says room {} category {} createdAt {}, the post is room {} category {} createdAt {created:?}",
                    p.op, r.room, r.category, r.created_at, p.room, p.category
                ));
            }
            let Some(&(idx, created_at)) = position.get(&(p.room.as_str(), p.metadata.as_str()))
            else {
                out.push(
                    NAME,
                    format!(
                        "{who}: notification of op {} (room {}), a post no replica stores",
                        p.op, p.room
                    ),
                );
                continue;
            };
            if let Some(&(prev_idx, prev_created, prev_user)) = last_in_room.get(p.room.as_str()) {
                if idx < prev_idx && created_at != prev_created {
                    out.push(NAME, format!(
                        "{who}: room {} notifications out of order: op {} (position {idx}, createdAt {created_at}) arrived after {prev_user} (position {prev_idx}, createdAt {prev_created})",
                        p.room, p.op
                    ));
                }
            }
            if last_in_room
                .get(p.room.as_str())
                .is_none_or(|&(i, _, _)| idx > i)
            {
                last_in_room.insert(p.room.as_str(), (idx, created_at, p.user.as_str()));
            }
        }
        for (p, due) in due_in_session(s, &acked) {
            if !subscribed_throughout(timelines.of(&s.user, &p.room), p.first_sent, *due) {
                continue;
            }
            out.stat("notifications required", 1);
            if !count.contains_key(p.user.as_str()) {
                let (ack, name, _) = p.ack().expect("acked");
                out.push(NAME, format!(
                    "{who}: no notification of op {} (room {}, message {name}), sent {:.1}s, acknowledged {:.1}s, due {:.1}s",
                    p.op, p.room, obs.secs(p.first_sent), obs.secs(ack), obs.secs(*due)
                ));
            }
        }
    }
}
