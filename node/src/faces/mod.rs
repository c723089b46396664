//! The API faces over the one engine. A face is an API as its clients see it: routes, request
//! decoding, auth scheme, error body, time format, WebSocket protocol. Each face is a folder
//! with a `router` function; [`router`] mounts them all on the one API port.
//!
//! - [`gs2`]: GS2-Chat and GS2-Gateway (REST and the GS2 WebSocket protocol at `/`).
//! - [`stream`]: Stream Chat (both URL families and the `/connect` WebSocket).
//! - [`ops`]: the operators' endpoints (`/admin/cluster/...`, `/healthz`, `/readyz`,
//!   `/metrics`).
//! - [`http`]: plumbing every face shares (body limits, drain, gzip, URI limit, error bodies
//!   below the handlers, response compression).
//!
//! A face calls the engine (`raft`, `storage`, `bus`, `gateway`); the engine never imports a
//! face. How to add one: `DESIGN.md` beside this file.

pub mod gs2;
pub mod http;
pub mod ops;
pub mod stream;

use axum::Router;

/// Every face's routes on one router. Adding a face is one `.merge` line; only the GS2 face
/// has a fallback (it answers unknown paths).
pub fn router(gs2: gs2::App, stream: stream::Stream) -> Router {
    Router::new()
        .merge(ops::router(gs2.clone()))
        .merge(stream::router(stream))
        .merge(gs2::router(gs2))
}
