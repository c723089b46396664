//! The vocabulary raft and storage share: openraft's type configuration, node ids and
//! addresses. A leaf of its own, so that `storage` (which implements openraft's storage traits)
//! and `raft` (which drives them and imports the stores) do not import each other.

use std::io::Cursor;

pub type NodeId = u64;
pub type Node = openraft::BasicNode;

openraft::declare_raft_types!(
    /// The chat cluster's Raft types: entries carry a versioned [`proto::command::LogEntry`].
    pub TypeConfig:
        D = proto::command::LogEntry,
        R = proto::command::Reply,
        NodeId = NodeId,
        Node = Node,
        Entry = openraft::Entry<TypeConfig>,
        SnapshotData = Cursor<Vec<u8>>,
        AsyncRuntime = openraft::TokioRuntime,
);

pub type Raft = openraft::Raft<TypeConfig>;
