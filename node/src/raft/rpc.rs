//! Messages on the Raft port. Each frame is a length-prefixed msgpack document; a connection
//! carries one request at a time and is reused for the next (no per-heartbeat connection).

use openraft::error::{InstallSnapshotError, RaftError};
use openraft::raft::{
    AppendEntriesRequest, AppendEntriesResponse, InstallSnapshotRequest, InstallSnapshotResponse,
    VoteRequest, VoteResponse,
};
use openraft::{SnapshotMeta, Vote};
use proto::command::{LogEntry, Reply};
use serde::{Deserialize, Serialize};

use super::{Node, NodeId, TypeConfig};

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
    /// A call for the service the server registered on the peer port ([`super::service`]):
    /// the gateway's presence, notifications and disconnections. Raft carries it as an opaque
    /// msgpack document.
    Gateway(rmpv::Value),
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
    /// A snapshot chunk with its bytes as one msgpack binary string. `InstallSnapshot`
    /// (openraft's own type) encodes them as an array of integers, one to two bytes each and
    /// decoded one by one; it is still accepted from older senders.
    SnapshotChunk(SnapshotChunk),
}

#[derive(Debug, Serialize, Deserialize)]
pub struct SnapshotChunk {
    pub vote: Vote<NodeId>,
    pub meta: SnapshotMeta<NodeId, Node>,
    pub offset: u64,
    #[serde(with = "serde_bytes")]
    pub data: Vec<u8>,
    pub done: bool,
}

impl From<InstallSnapshotRequest<TypeConfig>> for SnapshotChunk {
    fn from(r: InstallSnapshotRequest<TypeConfig>) -> Self {
        SnapshotChunk {
            vote: r.vote,
            meta: r.meta,
            offset: r.offset,
            data: r.data,
            done: r.done,
        }
    }
}

impl From<SnapshotChunk> for InstallSnapshotRequest<TypeConfig> {
    fn from(c: SnapshotChunk) -> Self {
        InstallSnapshotRequest {
            vote: c.vote,
            meta: c.meta,
            offset: c.offset,
            data: c.data,
            done: c.done,
        }
    }
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
    Gateway(rmpv::Value),
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
    /// A membership change named a node that is not a member (added after `Failed`, so older
    /// peers' frames decode unchanged).
    #[error("node {node_id} is not a member")]
    NotMember { node_id: NodeId },
}

/// A survivor's answer to [`RpcBody::LeaderLost`].
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct LeaderProbe {
    pub node_id: NodeId,
    pub leader: Option<NodeId>,
    pub term: u64,
    pub last_log_index: Option<u64>,
    /// Milliseconds since the asked-about leader's last append reached this node.
    pub since_append_ms: Option<u64>,
}

pub fn encode<T: Serialize>(v: &T) -> Vec<u8> {
    rmp_serde::to_vec_named(v).expect("rpc messages always encode")
}

pub fn decode<T: serde::de::DeserializeOwned>(b: &[u8]) -> Result<T, rmp_serde::decode::Error> {
    rmp_serde::from_slice(b)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn snapshot_chunks_travel_as_binary_and_convert_both_ways() {
        let req = InstallSnapshotRequest::<TypeConfig> {
            vote: Vote::new_committed(3, 1),
            meta: SnapshotMeta::default(),
            offset: 7,
            data: (0..=255u8).cycle().take(4096).collect(),
            done: true,
        };
        let body = RpcBody::SnapshotChunk(req.clone().into());
        let bytes = encode(&body);
        // Binary: the 4 KiB of data plus a small header, not ~6 KiB of integers.
        assert!(bytes.len() < 4096 + 256, "{} bytes", bytes.len());
        let RpcBody::SnapshotChunk(back) = decode::<RpcBody>(&bytes).unwrap() else {
            panic!("decoded another variant")
        };
        let back: InstallSnapshotRequest<TypeConfig> = back.into();
        assert_eq!(back, req);
        // The old variant still decodes.
        let old = encode(&RpcBody::InstallSnapshot(req.clone()));
        assert!(old.len() > bytes.len() + 1024);
        assert!(matches!(
            decode::<RpcBody>(&old).unwrap(),
            RpcBody::InstallSnapshot(r) if r == req
        ));
    }
}
