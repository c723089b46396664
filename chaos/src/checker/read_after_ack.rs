//! A read issued after an acknowledged write sees it: describeMessagesByUserId with the
//! default (read-your-writes) consistency, sent to a random node after the post's 200,
//! lists the post.

use super::{Collector, Observed};

pub const NAME: &str = "read-after-ack";

pub fn check(obs: &Observed, out: &mut Collector) {
    for r in obs.reads.iter().filter(|r| !r.found) {
        out.push(
            NAME,
            format!(
                "op {} (room {}, message {}): read on node {} sent at {:.1}s, answered at {:.1}s with {} messages, none of them the post",
                r.op,
                r.room,
                r.name,
                r.node,
                obs.secs(r.sent),
                obs.secs(r.done),
                r.items
            ),
        );
    }
}
