//! The checkers: one invariant per file, each a pure function of what the run observed.
//!
//! Owns: the observation handed to every checker ([`Observed`]: the client records, the
//! faults, and every replica's final room listings read with stale consistency after the
//! cluster converged), the shared definitions (when a notification was due, when a user
//! was certainly subscribed or unsubscribed), and running every checker.
//! Does not own: collecting the observation (see [`crate::run`]).
//!
//! Invariants:
//! - [`no_lost_post`]: every acknowledged post is in every replica.
//! - [`no_duplicate_post`]: no post is stored twice.
//! - [`replica_agreement`]: every replica holds the same messages in the same per-room order.
//! - [`read_after_ack`]: a read issued after an acknowledged post sees it.
//! - [`notification_delivery`]: a subscriber online from before a post until its
//!   notification was due got it exactly once, in per-room order; nobody got one twice.
//! - [`no_notification_after_unsubscribe`]: no notification for a post made after an
//!   acknowledged unsubscribe.
//! - [`no_crash`]: no node exited without the harness stopping it.

pub mod no_crash;
pub mod no_duplicate_post;
pub mod no_lost_post;
pub mod no_notification_after_unsubscribe;
pub mod notification_delivery;
pub mod read_after_ack;
pub mod replica_agreement;

use std::collections::{BTreeMap, HashMap};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::history::{FaultRecord, PostRecord, ReadRecord, SessionRecord, SubKind, SubRecord};

/// Violations kept per invariant (the count is always exact).
pub const MAX_PER_INVARIANT: usize = 100;

/// One broken invariant, with the evidence.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Violation {
    pub invariant: &'static str,
    pub detail: String,
}

/// A message as one replica stores it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Msg {
    pub name: String,
    pub metadata: String,
    pub user_id: String,
    pub category: i64,
    pub created_at: i64,
}

impl Msg {
    pub fn from_json(v: &Value) -> Msg {
        let s = |k: &str| v.get(k).and_then(Value::as_str).unwrap_or("").to_owned();
        let i = |k: &str| v.get(k).and_then(Value::as_i64).unwrap_or(-1);
        Msg {
            name: s("name"),
            metadata: s("metadata"),
            user_id: s("userId"),
            category: i("category"),
            created_at: i("createdAt"),
        }
    }
}

/// Room name → messages in listing order.
pub type Listing = BTreeMap<String, Vec<Msg>>;

/// Everything the checkers look at.
pub struct Observed {
    pub t0: Instant,
    pub posts: Vec<PostRecord>,
    pub reads: Vec<ReadRecord>,
    pub subs: Vec<SubRecord>,
    pub sessions: Vec<SessionRecord>,
    pub faults: Vec<FaultRecord>,
    pub crashes: Vec<String>,
    /// Final listing of every member, by node id.
    pub replicas: BTreeMap<u64, Listing>,
    /// How long after an acknowledgement (or after the cluster recovered from a fault
    /// overlapping the post) a notification may take.
    pub grace: Duration,
}

impl Observed {
    pub fn secs(&self, t: Instant) -> f64 {
        t.saturating_duration_since(self.t0).as_secs_f64()
    }

    /// Posts by poster user id (`p-<op>`).
    pub fn posts_by_user(&self) -> HashMap<&str, &PostRecord> {
        self.posts.iter().map(|p| (p.user.as_str(), p)).collect()
    }

    /// The replica the others are compared with (lowest node id).
    pub fn reference(&self) -> Option<(u64, &Listing)> {
        self.replicas.iter().next().map(|(id, l)| (*id, l))
    }

    /// When the notification of `p` must have arrived: its acknowledgement plus the
    /// grace, pushed past the recovery of every fault overlapping [sent, due] (plus the
    /// grace again). `None` if `p` was not acknowledged.
    pub fn due(&self, p: &PostRecord) -> Option<Instant> {
        let (ack, _, _) = p.ack()?;
        let mut due = ack + self.grace;
        loop {
            let mut moved = false;
            for f in &self.faults {
                if f.started <= due && f.recovered >= p.first_sent && f.recovered + self.grace > due
                {
                    due = f.recovered + self.grace;
                    moved = true;
                }
            }
            if !moved {
                return Some(due);
            }
        }
    }

    /// Subscription operations per (user, room), in the order they were sent.
    pub fn sub_timelines(&self) -> Timelines<'_> {
        let mut m: Timelines = Timelines(HashMap::new());
        for s in &self.subs {
            m.0.entry(s.user.as_str())
                .or_default()
                .entry(s.room.as_str())
                .or_default()
                .push(s);
        }
        for v in m.0.values_mut().flat_map(HashMap::values_mut) {
            v.sort_by_key(|s| s.sent);
        }
        m
    }

    /// The acknowledged posts with their due time ([`Observed::due`]), oldest sent first.
    pub fn acked_by_sent(&self) -> Vec<(&PostRecord, Instant)> {
        let mut acked: Vec<_> = self
            .posts
            .iter()
            .filter_map(|p| self.due(p).map(|d| (p, d)))
            .collect();
        acked.sort_by_key(|(p, _)| p.first_sent);
        acked
    }
}

/// Subscription operations per (user, room), in the order they were sent.
pub struct Timelines<'a>(HashMap<&'a str, HashMap<&'a str, Vec<&'a SubRecord>>>);

impl<'a> Timelines<'a> {
    /// The operations of `user` on `room` (empty if none).
    pub fn of(&self, user: &str, room: &str) -> &[&'a SubRecord] {
        self.0
            .get(user)
            .and_then(|rooms| rooms.get(room))
            .map(Vec::as_slice)
            .unwrap_or_default()
    }
}

/// The entries of `acked` ([`Observed::acked_by_sent`]) whose notification session `s`
/// was online for: sent after it was bound, due before it closed (none if never bound).
pub fn due_in_session<'p, 'a>(
    s: &SessionRecord,
    acked: &'p [(&'a PostRecord, Instant)],
) -> impl Iterator<Item = &'p (&'a PostRecord, Instant)> {
    let closed = s.closed;
    let start = match s.bound {
        Some(bound) => acked.partition_point(|(p, _)| p.first_sent < bound),
        None => acked.len(),
    };
    acked[start..]
        .iter()
        .filter(move |(_, due)| closed.is_none_or(|c| c >= *due))
}

/// The operation in force at `at` (the last one resolved by then) and the one after it.
fn around<'a>(
    ops: &[&'a SubRecord],
    at: Instant,
) -> (Option<&'a SubRecord>, Option<&'a SubRecord>) {
    let k = ops.iter().take_while(|s| s.resolved <= at).count();
    let last = k.checked_sub(1).map(|i| ops[i]);
    (last, ops.get(k).copied())
}

/// True if `ops` (one user, one room) certainly kept the user subscribed from `from`
/// (a post was sent) to `until` (its notification was due): an acknowledged subscribe
/// resolved before `from`, and the next operation was sent after `until`.
pub fn subscribed_throughout(ops: &[&SubRecord], from: Instant, until: Instant) -> bool {
    match around(ops, from) {
        (Some(last), next) => {
            last.acked && last.kind == SubKind::Subscribe && next.is_none_or(|n| n.sent > until)
        }
        (None, _) => false,
    }
}

/// True if `ops` certainly left the user unsubscribed from `from` (a post was sent) to
/// `until` (a notification of it arrived): never subscribed, or an acknowledged
/// unsubscribe resolved before `from`; and no later operation was sent before `until`.
/// Returns why, for the report.
pub fn unsubscribed_throughout(
    ops: &[&SubRecord],
    from: Instant,
    until: Instant,
) -> Option<&'static str> {
    let (last, next) = around(ops, from);
    if next.is_some_and(|n| n.sent <= until) {
        return None;
    }
    match last {
        None => Some("never subscribed"),
        Some(l) if l.acked && l.kind == SubKind::Unsubscribe => {
            Some("after an acknowledged unsubscribe")
        }
        Some(_) => None,
    }
}

/// Appends `v` unless the invariant already has [`MAX_PER_INVARIANT`] entries; counts all.
pub struct Collector {
    pub kept: Vec<Violation>,
    pub counts: BTreeMap<&'static str, usize>,
    /// Figures the checkers computed on the way (e.g. notifications required).
    pub stats: BTreeMap<&'static str, u64>,
}

impl Collector {
    pub fn new() -> Collector {
        Collector {
            kept: Vec::new(),
            counts: BTreeMap::new(),
            stats: BTreeMap::new(),
        }
    }
    pub fn stat(&mut self, name: &'static str, n: u64) {
        *self.stats.entry(name).or_default() += n;
    }
    pub fn push(&mut self, invariant: &'static str, detail: String) {
        let n = self.counts.entry(invariant).or_default();
        *n += 1;
        if *n <= MAX_PER_INVARIANT {
            self.kept.push(Violation { invariant, detail });
        }
    }
}

impl Default for Collector {
    fn default() -> Self {
        Collector::new()
    }
}

/// Every invariant name, in report order.
pub const INVARIANTS: [&str; 7] = [
    no_lost_post::NAME,
    no_duplicate_post::NAME,
    replica_agreement::NAME,
    read_after_ack::NAME,
    notification_delivery::NAME,
    no_notification_after_unsubscribe::NAME,
    no_crash::NAME,
];

/// Runs every checker.
pub fn check_all(obs: &Observed) -> Collector {
    let mut c = Collector::new();
    no_lost_post::check(obs, &mut c);
    no_duplicate_post::check(obs, &mut c);
    replica_agreement::check(obs, &mut c);
    read_after_ack::check(obs, &mut c);
    notification_delivery::check(obs, &mut c);
    no_notification_after_unsubscribe::check(obs, &mut c);
    no_crash::check(obs, &mut c);
    c
}

#[cfg(test)]
mod tests;
