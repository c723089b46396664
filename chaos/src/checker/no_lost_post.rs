//! No acknowledged post is lost: every post that got a 200 is, under the name the 200
//! carried, in the final listing of its room on every replica.

use std::collections::HashSet;

use super::{Collector, Observed};
use crate::history::PostOutcome;

pub const NAME: &str = "no-lost-post";

pub fn check(obs: &Observed, out: &mut Collector) {
    for (node, listing) in &obs.replicas {
        let names: HashSet<(&str, &str)> = listing
            .iter()
            .flat_map(|(room, msgs)| msgs.iter().map(move |m| (room.as_str(), m.name.as_str())))
            .collect();
        for p in &obs.posts {
            let PostOutcome::Acked {
                at,
                name,
                node: via,
                ..
            } = &p.outcome
            else {
                continue;
            };
            if names.contains(&(p.room.as_str(), name.as_str())) {
                continue;
            }
            let stored_as: Vec<&str> = listing
                .get(&p.room)
                .into_iter()
                .flatten()
                .filter(|m| m.metadata == p.metadata)
                .map(|m| m.name.as_str())
                .collect();
            out.push(
                NAME,
                format!(
                    "op {} (room {}, message {name}) acknowledged by node {via} at {:.1}s after {} attempt(s) is missing on node {node}{}",
                    p.op,
                    p.room,
                    obs.secs(*at),
                    p.attempts,
                    if stored_as.is_empty() {
                        String::new()
                    } else {
                        format!(" (its metadata is stored under {stored_as:?})")
                    }
                ),
            );
        }
    }
}
