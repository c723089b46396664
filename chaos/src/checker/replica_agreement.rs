//! Every replica holds the same messages in the same per-room order: after the cluster
//! converged (equal applied indexes), each member's stale listing of each room equals
//! the reference member's, field by field.

use std::collections::BTreeSet;

use super::{Collector, Msg, Observed};

pub const NAME: &str = "replica-agreement";

fn show(m: Option<&Msg>) -> String {
    match m {
        Some(m) => format!("{} ({}, createdAt {})", m.name, m.metadata, m.created_at),
        None => "nothing".into(),
    }
}

pub fn check(obs: &Observed, out: &mut Collector) {
    let Some((ref_id, reference)) = obs.reference() else {
        out.push(NAME, "no replica could be read".into());
        return;
    };
    for (node, listing) in &obs.replicas {
        if *node == ref_id {
            continue;
        }
        let rooms: BTreeSet<&String> = listing.keys().chain(reference.keys()).collect();
        for room in rooms {
            let a = reference.get(room).map(Vec::as_slice).unwrap_or_default();
            let b = listing.get(room).map(Vec::as_slice).unwrap_or_default();
            if a == b {
                continue;
            }
            let i = a.iter().zip(b).take_while(|(x, y)| x == y).count();
            out.push(
                NAME,
                format!(
                    "room {room}: node {ref_id} has {} messages, node {node} has {}; first difference at position {i}: node {ref_id} {} vs node {node} {}",
                    a.len(),
                    b.len(),
                    show(a.get(i)),
                    show(b.get(i))
                ),
            );
        }
    }
}
