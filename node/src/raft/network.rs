//! Outgoing Raft-port connections: a pool of persistent TCP connections per peer address.
//! A call takes an idle connection (or dials one), sends one frame, reads one frame, and
//! returns the connection to the pool; a failed connection is dropped.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use futures::{SinkExt, StreamExt};
use openraft::error::{
    InstallSnapshotError, NetworkError, RPCError, RaftError, RemoteError, Unreachable,
};
use openraft::network::{RPCOption, RaftNetwork, RaftNetworkFactory};
use openraft::raft::{
    AppendEntriesRequest, AppendEntriesResponse, InstallSnapshotRequest, InstallSnapshotResponse,
    VoteRequest, VoteResponse,
};
use tokio::net::TcpStream;
use tokio::sync::Mutex;
use tokio_util::codec::{Framed, LengthDelimitedCodec};

use super::rpc::{self, RpcBody, RpcRequest, RpcResponse, MAX_FRAME, RPC_VERSION};
use super::{Node, NodeId, TypeConfig};

type Conn = Framed<TcpStream, LengthDelimitedCodec>;

const DIAL_TIMEOUT: Duration = Duration::from_secs(2);
const MAX_IDLE_PER_PEER: usize = 8;

#[derive(Debug, thiserror::Error)]
pub enum NetError {
    #[error("connect to {addr}: {source}")]
    Connect {
        addr: String,
        source: std::io::Error,
    },
    #[error("rpc to {addr} timed out")]
    Timeout { addr: String },
    #[error("rpc to {addr}: {reason}")]
    Transport { addr: String, reason: String },
}

pub fn codec() -> LengthDelimitedCodec {
    LengthDelimitedCodec::builder()
        .max_frame_length(MAX_FRAME)
        .new_codec()
}

/// Pooled connections to every peer, shared by Raft replication and request forwarding.
#[derive(Clone, Default)]
pub struct PeerPool {
    idle: Arc<Mutex<HashMap<String, Vec<Conn>>>>,
    /// Where to dial instead of a peer's advertised address (fault-injection proxies, NAT).
    overrides: Arc<HashMap<String, String>>,
}

impl PeerPool {
    pub fn with_overrides(overrides: HashMap<String, String>) -> Self {
        PeerPool {
            idle: Arc::default(),
            overrides: Arc::new(overrides),
        }
    }

    async fn take(&self, addr: &str) -> Result<Conn, NetError> {
        if let Some(conn) = self.idle.lock().await.get_mut(addr).and_then(Vec::pop) {
            return Ok(conn);
        }
        let dial = self.overrides.get(addr).map(String::as_str).unwrap_or(addr);
        let stream = tokio::time::timeout(DIAL_TIMEOUT, TcpStream::connect(dial))
            .await
            .map_err(|_| NetError::Timeout {
                addr: addr.to_string(),
            })?
            .map_err(|source| NetError::Connect {
                addr: addr.to_string(),
                source,
            })?;
        let _ = stream.set_nodelay(true);
        Ok(Framed::new(stream, codec()))
    }

    async fn give_back(&self, addr: &str, conn: Conn) {
        let mut idle = self.idle.lock().await;
        let list = idle.entry(addr.to_string()).or_default();
        if list.len() < MAX_IDLE_PER_PEER {
            list.push(conn);
        }
    }

    /// Sends one request to `addr` and waits at most `timeout` for its response.
    pub async fn call(
        &self,
        addr: &str,
        group: u32,
        body: RpcBody,
        timeout: Duration,
    ) -> Result<RpcResponse, NetError> {
        let req = RpcRequest {
            version: RPC_VERSION,
            group,
            body,
        };
        let frame = Bytes::from(rpc::encode(&req));
        let transport = |reason: String| NetError::Transport {
            addr: addr.to_string(),
            reason,
        };
        let fut = async {
            let mut conn = self.take(addr).await?;
            conn.send(frame)
                .await
                .map_err(|e| transport(e.to_string()))?;
            let reply = conn
                .next()
                .await
                .ok_or_else(|| transport("connection closed".into()))?
                .map_err(|e| transport(e.to_string()))?;
            let resp: RpcResponse = rpc::decode(&reply).map_err(|e| transport(e.to_string()))?;
            self.give_back(addr, conn).await;
            Ok(resp)
        };
        tokio::time::timeout(timeout, fut)
            .await
            .map_err(|_| NetError::Timeout {
                addr: addr.to_string(),
            })?
    }
}

/// openraft's factory: one [`PeerNetwork`] per target, all sharing the pool.
pub struct Network {
    pub pool: PeerPool,
    pub group: u32,
}

impl RaftNetworkFactory<TypeConfig> for Network {
    type Network = PeerNetwork;

    async fn new_client(&mut self, target: NodeId, node: &Node) -> Self::Network {
        PeerNetwork {
            target,
            addr: node.addr.clone(),
            pool: self.pool.clone(),
            group: self.group,
        }
    }
}

pub struct PeerNetwork {
    target: NodeId,
    addr: String,
    pool: PeerPool,
    group: u32,
}

type RpcResult<T, E = openraft::error::Infallible> =
    Result<T, RPCError<NodeId, Node, RaftError<NodeId, E>>>;

impl PeerNetwork {
    async fn call<E: std::error::Error>(
        &self,
        body: RpcBody,
        option: &RPCOption,
    ) -> Result<RpcResponse, RPCError<NodeId, Node, RaftError<NodeId, E>>> {
        let timeout = option.hard_ttl();
        match self.pool.call(&self.addr, self.group, body, timeout).await {
            Ok(RpcResponse::Refused(reason)) => Err(RPCError::Network(NetworkError::new(
                &std::io::Error::other(reason),
            ))),
            Ok(resp) => Ok(resp),
            Err(e @ NetError::Connect { .. }) => Err(RPCError::Unreachable(Unreachable::new(&e))),
            Err(e) => Err(RPCError::Network(NetworkError::new(&e))),
        }
    }

    fn unexpected<E: std::error::Error>(&self) -> RPCError<NodeId, Node, RaftError<NodeId, E>> {
        RPCError::Network(NetworkError::new(&std::io::Error::other(
            "unexpected response kind",
        )))
    }

    fn remote<T, E: std::error::Error>(
        &self,
        r: Result<T, RaftError<NodeId, E>>,
    ) -> Result<T, RPCError<NodeId, Node, RaftError<NodeId, E>>> {
        r.map_err(|e| RPCError::RemoteError(RemoteError::new(self.target, e)))
    }
}

impl RaftNetwork<TypeConfig> for PeerNetwork {
    async fn append_entries(
        &mut self,
        rpc: AppendEntriesRequest<TypeConfig>,
        option: RPCOption,
    ) -> RpcResult<AppendEntriesResponse<NodeId>> {
        match self.call(RpcBody::AppendEntries(rpc), &option).await? {
            RpcResponse::AppendEntries(r) => self.remote(r),
            _ => Err(self.unexpected()),
        }
    }

    async fn install_snapshot(
        &mut self,
        rpc: InstallSnapshotRequest<TypeConfig>,
        option: RPCOption,
    ) -> RpcResult<InstallSnapshotResponse<NodeId>, InstallSnapshotError> {
        match self
            .call(RpcBody::SnapshotChunk(rpc.into()), &option)
            .await?
        {
            RpcResponse::InstallSnapshot(r) => self.remote(r),
            _ => Err(self.unexpected()),
        }
    }

    async fn vote(
        &mut self,
        rpc: VoteRequest<NodeId>,
        option: RPCOption,
    ) -> RpcResult<VoteResponse<NodeId>> {
        match self.call(RpcBody::Vote(rpc), &option).await? {
            RpcResponse::Vote(r) => self.remote(r),
            _ => Err(self.unexpected()),
        }
    }
}
