//! What happened during a run, as observed by the clients and the nemesis.
//!
//! Owns: the records every workload task and the nemesis append to (posts, reads,
//! subscription changes, WebSocket sessions with the notifications they received, faults,
//! leader losses), and the run's time origin. Records are written once an operation is
//! resolved, except sessions, which are shared while open.
//! Does not own: judging anything (see [`crate::checker`]).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::nemesis::FaultKind;

/// A post operation (postByUserId with one duplication avoider, retried until resolved).
#[derive(Debug, Clone)]
pub struct PostRecord {
    pub op: u64,
    pub room: String,
    /// Poster user id, unique per post (`p-<op>`), so a notification names its post.
    pub user: String,
    /// Unique per post; how the message is found in a room listing.
    pub metadata: String,
    pub category: i64,
    pub avoider: String,
    pub first_sent: Instant,
    pub attempts: u32,
    pub outcome: PostOutcome,
}

#[derive(Debug, Clone)]
pub enum PostOutcome {
    /// A 200 with the message item.
    Acked {
        at: Instant,
        /// When the acknowledged attempt was sent.
        attempt_sent: Instant,
        name: String,
        created_at: i64,
        node: u64,
    },
    /// A 4xx: the server refused a valid post (reported, never expected).
    Rejected {
        status: u16,
        text: String,
        node: u64,
    },
    /// Gave up after the retry budget: the post may or may not exist.
    Indeterminate { last_error: String },
}

impl PostRecord {
    pub fn ack(&self) -> Option<(Instant, &str, i64)> {
        match &self.outcome {
            PostOutcome::Acked {
                at,
                name,
                created_at,
                ..
            } => Some((*at, name.as_str(), *created_at)),
            _ => None,
        }
    }
}

/// A read issued after an acknowledged post, on a random node (default consistency).
#[derive(Debug, Clone)]
pub struct ReadRecord {
    pub op: u64,
    pub room: String,
    pub name: String,
    pub node: u64,
    pub sent: Instant,
    pub done: Instant,
    pub found: bool,
    pub items: usize,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum SubKind {
    Subscribe,
    Unsubscribe,
}

/// One subscribe or unsubscribe of `user` to `room`. Operations on one (user, room) pair
/// are sequential: the next is sent only after this one resolved.
#[derive(Debug, Clone)]
pub struct SubRecord {
    pub user: String,
    pub room: String,
    pub kind: SubKind,
    pub sent: Instant,
    pub resolved: Instant,
    /// The state after the operation is known (200, or 409/404 meaning it already held).
    pub acked: bool,
    pub detail: String,
}

/// A chat post notification as received on a socket.
#[derive(Debug, Clone)]
pub struct Received {
    pub at: Instant,
    pub namespace: String,
    pub room: String,
    pub poster: String,
    pub category: i64,
    pub created_at: i64,
}

/// One WebSocket connection of one user, from connect to close.
#[derive(Debug, Clone)]
pub struct SessionRecord {
    pub seq: u64,
    pub user: String,
    pub node: u64,
    pub connected: Instant,
    /// When the setUserId response (200) arrived.
    pub bound: Option<Instant>,
    /// When the client noticed the end of the connection (`None`: open at the end).
    pub closed: Option<Instant>,
    pub close_reason: String,
    pub received: Vec<Received>,
    /// Frames without `requestId` that are not a well-formed chat post notification.
    pub bad_frames: Vec<String>,
}

/// One injected fault.
#[derive(Debug, Clone)]
pub struct FaultRecord {
    pub kind: FaultKind,
    pub detail: String,
    pub started: Instant,
    pub healed: Instant,
    /// When the cluster was healthy again (or the wait gave up).
    pub recovered: Instant,
    /// When the leader was made unavailable by this fault, if it was.
    pub leader_loss: Option<Instant>,
    /// Set when the cluster did not become healthy within the recovery timeout.
    pub recovery_error: Option<String>,
}

/// Everything recorded during a run.
pub struct History {
    pub t0: Instant,
    pub posts: Mutex<Vec<PostRecord>>,
    pub reads: Mutex<Vec<ReadRecord>>,
    pub subs: Mutex<Vec<SubRecord>>,
    pub sessions: Mutex<Vec<Arc<Mutex<SessionRecord>>>>,
    pub faults: Mutex<Vec<FaultRecord>>,
    /// Unexpected answers worth a look that are not invariant violations.
    pub warnings: Mutex<Vec<String>>,
    /// Nodes that exited without the harness stopping them.
    pub crashes: Mutex<Vec<String>>,
    pub http_attempts: AtomicU64,
    pub reads_attempted: AtomicU64,
    pub reads_unanswered: AtomicU64,
    next_session: AtomicU64,
}

impl History {
    pub fn new(t0: Instant) -> History {
        History {
            t0,
            posts: Mutex::default(),
            reads: Mutex::default(),
            subs: Mutex::default(),
            sessions: Mutex::default(),
            faults: Mutex::default(),
            warnings: Mutex::default(),
            crashes: Mutex::default(),
            http_attempts: AtomicU64::new(0),
            reads_attempted: AtomicU64::new(0),
            reads_unanswered: AtomicU64::new(0),
            next_session: AtomicU64::new(1),
        }
    }

    /// Seconds since the start of the run (for messages and the report).
    pub fn secs(&self, t: Instant) -> f64 {
        t.saturating_duration_since(self.t0).as_secs_f64()
    }

    pub fn warn(&self, msg: impl Into<String>) {
        let msg = msg.into();
        let mut w = self.warnings.lock().expect("warnings lock");
        // Keep the report readable: the first 200 are plenty to diagnose.
        if w.len() < 200 {
            w.push(msg);
        }
    }

    pub fn new_session(&self, user: &str, node: u64) -> Arc<Mutex<SessionRecord>> {
        let rec = Arc::new(Mutex::new(SessionRecord {
            seq: self.next_session.fetch_add(1, Ordering::Relaxed),
            user: user.to_owned(),
            node,
            connected: Instant::now(),
            bound: None,
            closed: None,
            close_reason: String::new(),
            received: Vec::new(),
            bad_frames: Vec::new(),
        }));
        self.sessions
            .lock()
            .expect("sessions lock")
            .push(rec.clone());
        rec
    }

    /// A copy of every session record.
    pub fn sessions_snapshot(&self) -> Vec<SessionRecord> {
        self.sessions
            .lock()
            .expect("sessions lock")
            .iter()
            .map(|s| s.lock().expect("session lock").clone())
            .collect()
    }
}

/// Milliseconds of a duration, for the report.
pub fn ms(d: Duration) -> u64 {
    d.as_millis() as u64
}
