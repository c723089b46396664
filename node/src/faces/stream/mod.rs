//! The Stream Chat face: the official Stream SDKs (npm `stream-chat`, PyPI `getstream`) against
//! this cluster through their base-URL option (`stream-protocol.md`). Both URL families on the
//! API port: v1 (unprefixed paths, RFC 3339 times, custom fields flat; the JS client) and v2
//! (`/api/v2/…`, integer-nanosecond times, custom fields under `custom`; the Python SDK).
//!
//! - [`routes`]: every Stream method ([`methods`]) at both paths, implemented or a 501 naming it;
//! - [`call`]: the request as handlers see it (family, caller, query, body); [`auth`]: the app
//!   key and the JWTs; [`error`]: the one mapping to Stream's six-key error body;
//! - [`render`]: records → Stream JSON per family; [`message_json`]: messages and reactions;
//!   [`state`]: a channel's state as the SDKs read it;
//! - the handlers: [`users`], [`lifecycle`] (deactivation, deletion, guests), [`app`],
//!   [`channels`], [`channel_ops`], [`members`], [`messages`], [`edit`] (updates, deletes,
//!   thread replies), [`reactions`], [`read`];
//! - [`ws`]: the `/connect` WebSocket; [`watch`]: which connections watch which channel;
//!   [`presence`]: who is online, cluster-wide;
//!   [`events`]: the engine's events as Stream frames, to this node's sockets.
//!
//! Not here: the engine it calls (cluster, views, gateway) and the shared HTTP plumbing
//! (`faces::http`). Decisions: `DESIGN.md` beside this file.

pub mod app;
pub mod auth;
pub mod call;
pub mod channel_ops;
pub mod channels;
pub mod edit;
pub mod error;
pub mod events;
pub mod lifecycle;
pub mod members;
pub mod message_json;
pub mod messages;
pub mod methods;
pub mod presence;
pub mod reactions;
pub mod read;
pub mod render;
pub mod routes;
pub mod state;
pub mod users;
pub mod watch;
pub mod ws;

use std::sync::Arc;

use axum::Router;
use proto::command::{Command, Outcome, Reply};
use proto::stream::error::StreamError;

use crate::raft::cluster::Cluster;
use crate::storage::View;
use error::ApiError;

/// Shared state of the Stream handlers.
pub struct StreamState {
    pub cluster: Cluster,
    pub view: View,
    pub keys: auth::AppKeys,
    pub gateway: Arc<crate::gateway::Gateway>,
    /// Which of this node's connections watch which channel.
    pub watches: watch::Watches,
}

impl StreamState {
    pub fn new(
        cluster: Cluster,
        view: View,
        keys: auth::AppKeys,
        gateway: Arc<crate::gateway::Gateway>,
    ) -> Self {
        StreamState {
            cluster,
            view,
            keys,
            gateway,
            watches: watch::Watches::default(),
        }
    }
}

pub type Stream = Arc<StreamState>;

pub fn router(state: Stream) -> Router {
    crate::faces::http::with_plumbing(routes::router(state), ApiError::for_status)
}

/// Waits until this node's replica has applied every write acknowledged before the call (a
/// read-index round trip to the leader): reads after it see the caller's own writes, whichever
/// node took them.
pub async fn barrier(s: &Stream) -> Result<(), ApiError> {
    s.cluster
        .read_barrier(crate::raft::cluster::Consistency::ReadYourWrites)
        .await?;
    Ok(())
}

/// Replicates a command; its outcome, or its rejection as a Stream error.
pub async fn write(s: &Stream, cmd: Command) -> Result<Outcome, ApiError> {
    match s.cluster.write(cmd, None).await? {
        Reply::Ok(o) => Ok(o),
        Reply::Rejected(e) => Err(e.into()),
        Reply::Many(_) => Err(StreamError::internal("a batch reply reached a single write").into()),
    }
}
