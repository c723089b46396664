//! Messages on the Raft port. Each frame is a length-prefixed msgpack document; a connection
//! carries one request at a time and is reused for the next (no per-heartbeat connection).

use openraft::error::{InstallSnapshotError, RaftError};
use openraft::raft::{
    AppendEntriesRequest, AppendEntriesResponse, InstallSnapshotRequest, InstallSnapshotResponse,
    VoteRequest, VoteResponse,
};
use proto::command::{LogEntry, Reply};
use serde::{Deserialize, Serialize};

use super::failover::LeaderProbe;
use super::{NodeId, TypeConfig};
use crate::gateway::peer::{GatewayRequest, GatewayResponse};

/// Bumped when the frame format changes incompatibly.
pub const RPC_VERSION: u16 = 1;
/// Largest frame accepted (snapshot chunks and log batches are far below this).
pub const MAX_FRAME: usize = 64 * 1024 * 1024;

#[derive(Debug, Serialize, Deserialize)]
pub struct RpcRequest {
    pub version: u16,
    pub group: u32,
    pub body: RpcBody,
}

#[derive(Debug, Serialize, Deserialize)]
pub enum RpcBody {
    AppendEntries(AppendEntriesRequest<TypeConfig>),
    Vote(VoteRequest<NodeId>),
    InstallSnapshot(InstallSnapshotRequest<TypeConfig>),
    /// A write forwarded to the leader.
    ClientWrite(Box<LogEntry>),
    /// Asks the leader for an index that covers every write acknowledged so far.
    ReadIndex,
    AddNode {
        node_id: NodeId,
        raft_addr: String,
    },
    RemoveNode {
        node_id: NodeId,
    },
    /// Presence, notifications and disconnections, answered from the node's own sessions.
    Gateway(GatewayRequest),
    /// Asks the receiving node to start an election (leadership transfer).
    Elect,
    /// Asks the leader to hand leadership over.
    TransferLeader {
        to: Option<NodeId>,
    },
    /// Liveness check (answered with `Admin(Ok(()))`).
    Ping,
    /// A survivor asks for this node's log position after losing `leader` (see `failover`).
    LeaderLost {
        leader: NodeId,
    },
}

#[derive(Debug, Serialize, Deserialize)]
pub enum RpcResponse {
    AppendEntries(Result<AppendEntriesResponse<NodeId>, RaftError<NodeId>>),
    Vote(Result<VoteResponse<NodeId>, RaftError<NodeId>>),
    InstallSnapshot(
        Result<InstallSnapshotResponse<NodeId>, RaftError<NodeId, InstallSnapshotError>>,
    ),
    ClientWrite(Result<Reply, ForwardError>),
    ReadIndex(Result<u64, ForwardError>),
    Admin(Result<(), ForwardError>),
    Gateway(GatewayResponse),
    LeaderProbe(LeaderProbe),
    /// The request could not be handled at all (unknown group or version).
    Refused(String),
}

/// Why a forwarded request did not run on the node it was sent to.
#[derive(Debug, Clone, Serialize, Deserialize, thiserror::Error)]
pub enum ForwardError {
    #[error("not the leader (leader hint: {leader:?})")]
    NotLeader { leader: Option<NodeId> },
    #[error("{0}")]
    Failed(String),
}

pub fn encode<T: Serialize>(v: &T) -> Vec<u8> {
    rmp_serde::to_vec_named(v).expect("rpc messages always encode")
}

pub fn decode<T: serde::de::DeserializeOwned>(b: &[u8]) -> Result<T, rmp_serde::decode::Error> {
    rmp_serde::from_slice(b)
}
