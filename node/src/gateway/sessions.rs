//! The sessions of this node: every WebSocket connection, its bounded send queue, and the user
//! it is bound to (`setUserId`). Cluster-wide views are built by asking every node (see
//! `raft::cluster::Cluster::broadcast`).

use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, Mutex};

use serde::{Deserialize, Serialize};
use tokio::sync::{mpsc, Notify};

use crate::metrics;

/// Close code for a connection whose send queue overflowed (RFC 6455 "policy violation").
pub const CLOSE_OVERFLOW: u16 = 1008;
/// Close code for a connection closed by the server on request (disconnect, force, kick).
pub const CLOSE_NORMAL: u16 = 1000;
/// How long a full send queue may take to drain before its connection is closed.
pub const OVERFLOW_GRACE: std::time::Duration = std::time::Duration::from_millis(250);
/// Close code telling clients the node restarts and they should reconnect (RFC 6455 1012).
pub const CLOSE_RESTART: u16 = 1012;

/// A session as every node reports it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionInfo {
    pub connection_id: String,
    pub namespace: String,
    pub user_id: String,
    pub session_id: Option<String>,
    pub created_at: i64,
    pub updated_at: i64,
    pub node_id: u64,
}

/// What the writer task of a connection receives.
pub enum Outgoing {
    Text(String),
    Pong(Vec<u8>),
}

struct Conn {
    tx: mpsc::Sender<Outgoing>,
    /// Control channel for pongs, never blocked by a full data queue.
    ctl: mpsc::Sender<Outgoing>,
    close: Arc<CloseSignal>,
    binding: Option<SessionInfo>,
}

/// Why and how a connection must close; the writer task watches it.
#[derive(Default)]
pub struct CloseSignal {
    reason: Mutex<Option<(u16, String)>>,
    notify: Notify,
}

impl CloseSignal {
    /// Asks the connection to close; `true` the first time (later reasons are ignored).
    pub fn close(&self, code: u16, reason: &str) -> bool {
        let mut r = self.reason.lock().expect("close lock");
        let first = r.is_none();
        if first {
            *r = Some((code, reason.to_string()));
        }
        drop(r);
        self.notify.notify_waiters();
        first
    }

    pub fn is_closed(&self) -> bool {
        self.reason.lock().expect("close lock").is_some()
    }

    /// Resolves once [`CloseSignal::close`] has been called (by any number of waiters).
    pub async fn wait(&self) -> (u16, String) {
        loop {
            let notified = self.notify.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            if let Some(r) = self.reason.lock().expect("close lock").clone() {
                return r;
            }
            notified.await;
        }
    }
}

/// The overflow policy: close the connection with a reason, count it once.
fn overflow(id: &str, close: &CloseSignal) {
    if close.close(CLOSE_OVERFLOW, "send queue overflow") {
        metrics::WS_OVERFLOW_CLOSED.inc();
        tracing::warn!(connection = %id, "send queue overflow; closing");
    }
}

#[derive(Default)]
struct State {
    conns: HashMap<String, Conn>,
    by_user: HashMap<(String, String), BTreeSet<String>>,
}

pub struct Registry {
    node_id: u64,
    state: Mutex<State>,
}

/// What a new connection gets to run its writer.
pub struct ConnHandle {
    pub id: String,
    pub rx: mpsc::Receiver<Outgoing>,
    pub ctl_rx: mpsc::Receiver<Outgoing>,
    pub ctl: mpsc::Sender<Outgoing>,
    pub close: Arc<CloseSignal>,
}

impl Registry {
    pub fn new(node_id: u64) -> Arc<Registry> {
        Arc::new(Registry {
            node_id,
            state: Mutex::new(State::default()),
        })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().expect("registry lock")
    }

    pub fn open(&self, queue: usize) -> ConnHandle {
        let id = uuid::Uuid::new_v4().to_string();
        let (tx, rx) = mpsc::channel(queue.max(1));
        let (ctl, ctl_rx) = mpsc::channel(16);
        let close = Arc::new(CloseSignal::default());
        self.lock().conns.insert(
            id.clone(),
            Conn {
                tx,
                ctl: ctl.clone(),
                close: close.clone(),
                binding: None,
            },
        );
        metrics::WS_CONNECTIONS.inc();
        ConnHandle {
            id,
            rx,
            ctl_rx,
            ctl,
            close,
        }
    }

    pub fn remove(&self, id: &str) {
        let mut st = self.lock();
        if let Some(conn) = st.conns.remove(id) {
            metrics::WS_CONNECTIONS.dec();
            if let Some(b) = conn.binding {
                let key = (b.namespace, b.user_id);
                if let Some(set) = st.by_user.get_mut(&key) {
                    set.remove(id);
                    if set.is_empty() {
                        st.by_user.remove(&key);
                    }
                }
            }
        }
    }

    pub fn has(&self, id: &str) -> bool {
        self.lock().conns.contains_key(id)
    }

    /// Binds connection `id` to a user in a gateway namespace (rebinding moves it).
    pub fn bind(
        &self,
        id: &str,
        namespace: &str,
        user: &str,
        session_id: Option<String>,
        now: i64,
    ) -> Option<SessionInfo> {
        let mut st = self.lock();
        let previous = st.conns.get(id)?.binding.clone();
        if let Some(b) = &previous {
            let key = (b.namespace.clone(), b.user_id.clone());
            if let Some(set) = st.by_user.get_mut(&key) {
                set.remove(id);
                if set.is_empty() {
                    st.by_user.remove(&key);
                }
            }
        }
        let info = SessionInfo {
            connection_id: id.to_string(),
            namespace: namespace.to_string(),
            user_id: user.to_string(),
            session_id,
            created_at: previous.as_ref().map_or(now, |p| p.created_at),
            updated_at: now,
            node_id: self.node_id,
        };
        st.conns.get_mut(id)?.binding = Some(info.clone());
        st.by_user
            .entry((namespace.to_string(), user.to_string()))
            .or_default()
            .insert(id.to_string());
        Some(info)
    }

    /// Sessions in `namespace` (of one user, or all).
    pub fn sessions(&self, namespace: &str, user: Option<&str>) -> Vec<SessionInfo> {
        let st = self.lock();
        st.conns
            .values()
            .filter_map(|c| c.binding.clone())
            .filter(|b| b.namespace == namespace && user.is_none_or(|u| b.user_id == u))
            .collect()
    }

    /// Users with at least one session in `namespace`.
    pub fn users(&self, namespace: &str) -> Vec<String> {
        self.lock()
            .by_user
            .keys()
            .filter(|(ns, _)| ns == namespace)
            .map(|(_, u)| u.clone())
            .collect()
    }

    /// Whether no session on this node is bound to a user (then no post reaches anyone here).
    pub fn no_bound_users(&self) -> bool {
        self.lock().by_user.is_empty()
    }

    /// How many distinct users have a session in `namespace` (no copies).
    pub fn user_count(&self, namespace: &str) -> usize {
        self.lock()
            .by_user
            .keys()
            .filter(|(ns, _)| ns == namespace)
            .count()
    }

    pub fn has_user(&self, namespace: &str, user: &str) -> bool {
        self.lock()
            .by_user
            .contains_key(&(namespace.to_string(), user.to_string()))
    }

    /// Queues a frame on every session of `user`; returns the connection ids reached.
    ///
    /// A connection whose queue is momentarily full (a burst) gets a short grace period for its
    /// writer to catch up; one still full after it is closed with a reason (never a silent
    /// drop). The wait happens outside the registry lock.
    pub async fn send_to_user(&self, namespace: &str, user: &str, frame: &str) -> Vec<String> {
        let mut reached = Vec::new();
        let mut blocked = Vec::new();
        {
            let st = self.lock();
            let Some(ids) = st.by_user.get(&(namespace.to_string(), user.to_string())) else {
                return reached;
            };
            for id in ids {
                let Some(conn) = st.conns.get(id) else {
                    continue;
                };
                if conn.close.is_closed() {
                    continue;
                }
                match conn.tx.try_send(Outgoing::Text(frame.to_string())) {
                    Ok(()) => reached.push(id.clone()),
                    Err(mpsc::error::TrySendError::Full(_)) => {
                        blocked.push((id.clone(), conn.tx.clone(), conn.close.clone()))
                    }
                    Err(mpsc::error::TrySendError::Closed(_)) => {}
                }
            }
        }
        let deadline = tokio::time::Instant::now() + OVERFLOW_GRACE;
        for (id, tx, close) in blocked {
            let frame = Outgoing::Text(frame.to_string());
            match tokio::time::timeout_at(deadline, tx.send(frame)).await {
                Ok(Ok(())) => reached.push(id),
                Ok(Err(_)) => {}
                Err(_) => overflow(&id, &close),
            }
        }
        reached
    }

    /// Queues a response frame on one connection (same overflow policy).
    pub fn send_to_conn(&self, id: &str, frame: String) {
        let st = self.lock();
        if let Some(conn) = st.conns.get(id) {
            if let Err(mpsc::error::TrySendError::Full(_)) = conn.tx.try_send(Outgoing::Text(frame))
            {
                overflow(id, &conn.close);
            }
        }
    }

    pub fn pong(&self, id: &str, payload: Vec<u8>) {
        if let Some(conn) = self.lock().conns.get(id) {
            let _ = conn.ctl.try_send(Outgoing::Pong(payload));
        }
    }

    /// Closes the sessions of `namespace` (one user or all), except `keep`; returns them.
    pub fn disconnect(
        &self,
        namespace: &str,
        user: Option<&str>,
        keep: &[String],
    ) -> Vec<SessionInfo> {
        let st = self.lock();
        let mut closed = Vec::new();
        for (id, conn) in &st.conns {
            let Some(b) = &conn.binding else { continue };
            if b.namespace == namespace && user.is_none_or(|u| b.user_id == u) && !keep.contains(id)
            {
                conn.close.close(CLOSE_NORMAL, "disconnected by the server");
                closed.push(b.clone());
            }
        }
        closed
    }

    /// Closes every connection (shutdown): clients reconnect to another node.
    pub fn close_all(&self, code: u16, reason: &str) -> usize {
        let st = self.lock();
        for conn in st.conns.values() {
            conn.close.close(code, reason);
        }
        st.conns.len()
    }

    pub fn connection_count(&self) -> usize {
        self.lock().conns.len()
    }
}
