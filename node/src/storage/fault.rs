//! Test-only fault injection into apply (`CHAT_FAULT_APPLY_FAIL_AFTER`), so that tests can
//! watch the node's fatal-error policy with a real process. Unset, it costs one branch.

use openraft::{AnyError, StorageError, StorageIOError};

use crate::raft_types::NodeId;

type SResult<T> = Result<T, StorageError<NodeId>>;

fn sm_err<E: std::error::Error + 'static>(e: E) -> StorageError<NodeId> {
    StorageIOError::write_state_machine(AnyError::new(&e)).into()
}

/// Test-only fault injection: with `CHAT_FAULT_APPLY_FAIL_AFTER=N` in the environment, the
/// state machine fails with a storage error once it has applied N application entries in this
/// process, as a dying disk would. Raft then stops with a fatal error and the node must exit
/// (see `lifecycle.rs`); a restart without the variable recovers from the log.
pub(super) struct ApplyFault {
    remaining: Option<u64>,
}

impl ApplyFault {
    const VAR: &'static str = "CHAT_FAULT_APPLY_FAIL_AFTER";

    pub(super) fn from_env() -> Self {
        let remaining = std::env::var(Self::VAR).ok().and_then(|v| v.parse().ok());
        if let Some(n) = remaining {
            tracing::warn!(
                after = n,
                "{} is set: apply will fail (test only)",
                Self::VAR
            );
        }
        ApplyFault { remaining }
    }

    /// Counts one application entry; an error once the budget is spent.
    pub(super) fn check(&mut self) -> SResult<()> {
        match &mut self.remaining {
            None => Ok(()),
            Some(0) => Err(sm_err(std::io::Error::other(format!(
                "injected apply failure ({})",
                Self::VAR
            )))),
            Some(n) => {
                *n -= 1;
                Ok(())
            }
        }
    }
}
