//! The GS2 API: one dispatch table ([`routes`]) of every method with its path, access rule and
//! handler, served over REST by [`http`] (and, later, over WebSocket through the same table).
//!
//! - [`request`]: the flattened call handlers see; [`auth`]: tokens; [`error`]: the one
//!   error→HTTP mapping; [`render`]: records→models; [`chat`], [`identity`]: the handlers.

pub mod auth;
pub mod chat;
pub mod error;
pub mod gateway;
pub mod http;
pub mod identity;
pub mod render;
pub mod request;
pub mod routes;

use std::sync::Arc;

use crate::raft::cluster::Cluster;
use crate::storage::View;

/// Shared state of the API handlers.
pub struct AppState {
    pub cluster: Cluster,
    pub view: View,
    pub tokens: auth::Tokens,
    pub render: render::Renderer,
    /// Base URL for links this node hands out (uploads, downloads).
    pub public_url: String,
    pub owner_id: String,
    pub gateway: Arc<crate::gateway::Gateway>,
    pub bus: crate::bus::Bus,
}

pub type App = Arc<AppState>;
