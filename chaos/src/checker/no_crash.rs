//! No node process exits unless the harness stops it (a panic or an abort is a bug even
//! when the cluster survives it).

use super::{Collector, Observed};

pub const NAME: &str = "no-crash";

pub fn check(obs: &Observed, out: &mut Collector) {
    for c in &obs.crashes {
        out.push(NAME, c.clone());
    }
}
