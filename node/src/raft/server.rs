//! The Raft port: accepts peer connections and answers their frames in order.

use std::net::SocketAddr;

use bytes::Bytes;
use futures::{SinkExt, StreamExt};
use tokio::net::{TcpListener, TcpStream};
use tokio_util::codec::Framed;
use tracing::Instrument;

use super::cluster::Cluster;
use super::failover;
use super::network::codec;
use super::rpc::{self, RpcBody, RpcRequest, RpcResponse, RPC_VERSION};
use crate::lifecycle::Lifecycle;

/// Accepts peer connections until the node stops; each connection is a task tracked by `life`
/// that ends with the connection or when the node stops.
pub async fn serve(listener: TcpListener, cluster: Cluster, life: Lifecycle) {
    loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, peer)) => {
                    let cluster = cluster.clone();
                    let stop = life.token();
                    life.track(async move {
                        tokio::select! {
                            _ = connection(stream, peer, cluster) => {}
                            _ = stop.cancelled() => {}
                        }
                    });
                }
                Err(e) => tracing::warn!(error = %e, "raft accept failed"),
            },
            _ = life.stopping() => return,
        }
    }
}

async fn connection(stream: TcpStream, peer: SocketAddr, cluster: Cluster) {
    let _ = stream.set_nodelay(true);
    let mut framed = Framed::new(stream, codec());
    // The leader whose appends this connection carried: its closing may mean the leader died.
    let mut appends_from = None;
    while let Some(frame) = framed.next().await {
        let frame = match frame {
            Ok(f) => f,
            Err(e) => {
                tracing::debug!(%peer, error = %e, "raft connection read failed");
                break;
            }
        };
        let resp = match rpc::decode::<RpcRequest>(&frame) {
            Ok(req) if req.version != RPC_VERSION => {
                RpcResponse::Refused(format!("unsupported rpc version {}", req.version))
            }
            Ok(req) if req.group != cluster.group() => {
                RpcResponse::Refused(format!("unknown raft group {}", req.group))
            }
            Ok(req) => {
                if let RpcBody::AppendEntries(a) = &req.body {
                    if let Some(leader) = a.vote.leader_id().voted_for() {
                        cluster.watch().note_append(leader);
                        appends_from = Some(leader);
                    }
                }
                handle(&cluster, req.body).await
            }
            Err(e) => RpcResponse::Refused(format!("undecodable frame: {e}")),
        };
        if let Err(e) = framed.send(Bytes::from(rpc::encode(&resp))).await {
            tracing::debug!(%peer, error = %e, "raft connection write failed");
            break;
        }
    }
    if let Some(leader) = appends_from {
        failover::leader_link_lost(&cluster, leader);
    }
}

async fn handle(cluster: &Cluster, body: RpcBody) -> RpcResponse {
    let raft = cluster.raft();
    match body {
        RpcBody::AppendEntries(r) => RpcResponse::AppendEntries(raft.append_entries(r).await),
        RpcBody::Vote(r) => RpcResponse::Vote(raft.vote(r).await),
        RpcBody::InstallSnapshot(r) => RpcResponse::InstallSnapshot(raft.install_snapshot(r).await),
        RpcBody::SnapshotChunk(c) => {
            RpcResponse::InstallSnapshot(raft.install_snapshot(c.into()).await)
        }
        RpcBody::ClientWrite(entry) => {
            let span = tracing::debug_span!(
                "forwarded_write",
                dedup = entry.parts().first().and_then(|p| p.meta.dedup.as_deref()),
                log_index = tracing::field::Empty
            );
            RpcResponse::ClientWrite(cluster.propose_local(*entry).instrument(span).await)
        }
        RpcBody::ReadIndex => RpcResponse::ReadIndex(cluster.local_read_index().await),
        RpcBody::AddNode { node_id, raft_addr } => {
            RpcResponse::Admin(cluster.add_node_local(node_id, raft_addr).await)
        }
        RpcBody::RemoveNode { node_id } => {
            RpcResponse::Admin(cluster.remove_node_local(node_id).await)
        }
        RpcBody::TransferLeader { to } => {
            RpcResponse::Admin(cluster.transfer_local(to).await.map(|_| ()))
        }
        RpcBody::Elect => RpcResponse::Admin(
            raft.trigger()
                .elect()
                .await
                .map_err(|e| super::rpc::ForwardError::Failed(e.to_string())),
        ),
        RpcBody::Ping => RpcResponse::Admin(Ok(())),
        RpcBody::LeaderLost { leader } => {
            RpcResponse::LeaderProbe(failover::answer_probe(cluster, leader))
        }
        RpcBody::Gateway(req) => match cluster.gateway_service() {
            Some(service) => RpcResponse::Gateway(service.call(req).await),
            None => RpcResponse::Refused("gateway not started".into()),
        },
    }
}
