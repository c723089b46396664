//! The GS2 face (GS2-Chat, GS2-Gateway, identifier and auth): one dispatch table ([`routes`])
//! of every method with its path, access rule and handler, served over REST by [`http`] and over
//! the GS2-Gateway WebSocket protocol by [`ws`] through the same table.
//!
//! - [`request`]: the flattened call handlers see; [`auth`]: tokens; [`error`]: the one
//!   error→HTTP mapping and the GS2 error body; [`render`]: records→models with GRNs and
//!   millisecond times; [`chat`], [`gateway`], [`identity`]: the handlers.
//!
//! Not here: the engine it calls (cluster, views, gateway, bus) and the shared HTTP plumbing
//! (`faces::http`).

pub mod auth;
pub mod chat;
pub mod error;
pub mod gateway;
pub mod http;
pub mod identity;
pub mod render;
pub mod request;
pub mod routes;
pub mod ws;

use std::sync::Arc;

use axum::routing::get;
use axum::Router;

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

/// The GS2 routes: the WebSocket endpoint at `/`, and every other path through the dispatch
/// table. The GS2 face is the fallback face: a path no face claims gets its 404 body.
pub fn router(app: App) -> Router {
    let routes = Router::new()
        .route("/", get(ws::upgrade))
        .fallback(http::gs2)
        .with_state(app);
    crate::faces::http::with_plumbing(routes, error::ApiError::for_status)
}
