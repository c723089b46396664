//! The node's lifecycle: one cancellation token and one task tracker that every long-lived task
//! is spawned on, and the fatal-error policy.
//!
//! A fatal error (Raft stopped by a storage error, a storage error in apply, an undecodable
//! outbox row) is never a request error: it is reported here once, with a reason, and cancels
//! the token. The server then stops serving, awaits every task with a deadline and exits
//! non-zero, so a node never stays half alive serving stale data. A restart recovers every
//! acknowledged write from the fsync'd log.
//!
//! Not owned here: the order of the teardown steps (`server.rs`), the signal handling.

use std::fmt::Display;
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tracing::Instrument;

/// Why the node stopped on its own.
#[derive(Debug, Clone, thiserror::Error)]
#[error("fatal error in {component}: {reason}")]
pub struct Fatal {
    /// The subsystem that gave up (`raft`, `apply`, `relay`, ...).
    pub component: &'static str,
    pub reason: String,
}

/// Cheap to clone; every clone shares the same token, tracker and fatal slot.
#[derive(Clone, Default)]
pub struct Lifecycle {
    token: CancellationToken,
    tracker: TaskTracker,
    fatal: Arc<Mutex<Option<Fatal>>>,
}

impl Lifecycle {
    pub fn new() -> Self {
        Self::default()
    }

    /// The token every task watches; cancelled on shutdown and on a fatal error.
    pub fn token(&self) -> CancellationToken {
        self.token.clone()
    }

    /// Resolves when the node is stopping, for whatever reason.
    pub async fn stopping(&self) {
        self.token.cancelled().await
    }

    pub fn is_stopping(&self) -> bool {
        self.token.is_cancelled()
    }

    /// Spawns a long-lived task, tracked so that shutdown awaits it. The task should return when
    /// [`Lifecycle::stopping`] resolves.
    pub fn spawn<F>(&self, name: &'static str, task: F)
    where
        F: Future<Output = ()> + Send + 'static,
    {
        self.tracker
            .spawn(task.instrument(tracing::info_span!("task", name)));
    }

    /// Spawns a long-lived task that runs until it ends or the node stops, whichever comes
    /// first (for loops that do not watch the token themselves), tracked like [`Lifecycle::spawn`].
    pub fn spawn_until<F>(&self, name: &'static str, task: F)
    where
        F: Future<Output = ()> + Send + 'static,
    {
        let token = self.token.clone();
        self.spawn(name, async move {
            tokio::select! {
                _ = task => {}
                _ = token.cancelled() => {}
            }
        });
    }

    /// Tracks a short-lived task (one per connection or per batch): shutdown awaits it too. It
    /// is not cancelled; it should end with its connection or its batch.
    pub fn track<F>(&self, task: F)
    where
        F: Future<Output = ()> + Send + 'static,
    {
        self.tracker.spawn(task);
    }

    /// Records a fatal error (the first one wins) and starts the shutdown.
    pub fn fatal(&self, component: &'static str, reason: impl Display) {
        let reason = reason.to_string();
        {
            let mut slot = self.fatal.lock().unwrap_or_else(|p| p.into_inner());
            if slot.is_none() {
                tracing::error!(component, %reason, "fatal error; the node stops");
                *slot = Some(Fatal { component, reason });
            }
        }
        self.token.cancel();
    }

    /// The fatal error that stopped the node, if one did.
    pub fn fatal_error(&self) -> Option<Fatal> {
        self.fatal.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// Cancels every task and waits for all of them, at most `deadline`. Returns the fatal
    /// error that caused the stop, if any.
    pub async fn shutdown(&self, deadline: Duration) -> Result<(), Fatal> {
        self.token.cancel();
        self.tracker.close();
        if tokio::time::timeout(deadline, self.tracker.wait())
            .await
            .is_err()
        {
            tracing::warn!(
                still_running = self.tracker.len(),
                deadline_ms = deadline.as_millis() as u64,
                "tasks did not stop before the shutdown deadline"
            );
        }
        match self.fatal_error() {
            Some(f) => Err(f),
            None => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn shutdown_awaits_tracked_tasks() {
        let life = Lifecycle::new();
        let done = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let (l, d) = (life.clone(), done.clone());
        life.spawn("t", async move {
            l.stopping().await;
            tokio::time::sleep(Duration::from_millis(20)).await;
            d.store(true, std::sync::atomic::Ordering::SeqCst);
        });
        assert!(life.shutdown(Duration::from_secs(5)).await.is_ok());
        assert!(done.load(std::sync::atomic::Ordering::SeqCst));
    }

    #[tokio::test]
    async fn first_fatal_wins_and_cancels() {
        let life = Lifecycle::new();
        life.fatal("apply", "disk gone");
        life.fatal("relay", "later");
        assert!(life.is_stopping());
        let err = life.shutdown(Duration::from_secs(1)).await.unwrap_err();
        assert_eq!(err.component, "apply");
        assert_eq!(err.reason, "disk gone");
    }

    #[tokio::test]
    async fn shutdown_gives_up_after_the_deadline() {
        let life = Lifecycle::new();
        life.spawn("stuck", std::future::pending());
        let started = std::time::Instant::now();
        assert!(life.shutdown(Duration::from_millis(50)).await.is_ok());
        assert!(started.elapsed() < Duration::from_secs(5));
    }
}
