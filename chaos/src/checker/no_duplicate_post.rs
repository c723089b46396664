//! No post appears twice: within each replica, each post's metadata (unique per
//! operation, retries included) names at most one message.

use std::collections::HashMap;

use super::{Collector, Observed};

pub const NAME: &str = "no-duplicate-post";

pub fn check(obs: &Observed, out: &mut Collector) {
    let posts: HashMap<&str, u64> = obs
        .posts
        .iter()
        .map(|p| (p.metadata.as_str(), p.op))
        .collect();
    for (node, listing) in &obs.replicas {
        for (room, msgs) in listing {
            let mut seen: HashMap<&str, Vec<&str>> = HashMap::new();
            for m in msgs {
                seen.entry(m.metadata.as_str())
                    .or_default()
                    .push(m.name.as_str());
            }
            for (metadata, names) in seen {
                if names.len() > 1 {
                    let op = posts
                        .get(metadata)
                        .map(|o| format!("op {o}"))
                        .unwrap_or_else(|| "an unknown op".into());
                    out.push(
                        NAME,
                        format!(
                            "{op} (metadata {metadata:?}) is stored {} times in room {room} on node {node}: {names:?}",
                            names.len()
                        ),
                    );
                }
            }
        }
    }
}
