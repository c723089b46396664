//! No notification arrives after an acknowledged unsubscribe: a user whose unsubscribe
//! from a room was acknowledged before a post to that room was sent (and who sent no
//! new subscribe before the notification arrived) never receives that post's
//! notification. Users that never subscribed to the room are held to the same rule.

use super::{due_in_session, unsubscribed_throughout, Collector, Observed};

pub const NAME: &str = "no-notification-after-unsubscribe";

pub fn check(obs: &Observed, out: &mut Collector) {
    let by_user = obs.posts_by_user();
    let timelines = obs.sub_timelines();
    // How much the check could catch: (socket, post) pairs where the socket was online
    // from the post until its notification was due and the user certainly unsubscribed.
    let acked = obs.acked_by_sent();
    for s in &obs.sessions {
        for (p, due) in due_in_session(s, &acked) {
            let ops = timelines.of(&s.user, &p.room);
            if unsubscribed_throughout(ops, p.first_sent, *due).is_some() {
                out.stat("notifications forbidden", 1);
            }
        }
    }
    for s in &obs.sessions {
        for r in &s.received {
            let Some(p) = by_user.get(r.poster.as_str()) else {
                continue;
            };
            let ops = timelines.of(&s.user, &p.room);
            if let Some(why) = unsubscribed_throughout(ops, p.first_sent, r.at) {
                let last = ops
                    .iter()
                    .rev()
                    .find(|o| o.resolved <= p.first_sent)
                    .map(|o| {
                        format!(
                            "; last change: {:?} sent {:.1}s, acknowledged {:.1}s ({})",
                            o.kind,
                            obs.secs(o.sent),
                            obs.secs(o.resolved),
                            o.detail
                        )
                    })
                    .unwrap_or_default();
                out.push(
                    NAME,
                    format!(
                        "session {} of {} on node {}: notification of op {} (room {}, sent {:.1}s) received at {:.1}s {why}{last}",
                        s.seq,
                        s.user,
                        s.node,
                        p.op,
                        p.room,
                        obs.secs(p.first_sent),
                        obs.secs(r.at)
                    ),
                );
            }
        }
    }
}
