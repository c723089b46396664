//! GS2-Gateway handlers: namespaces, WebSocket sessions (cluster-wide), firebase tokens and
//! notifications. User-data endpoints share the chat handlers (one dump holds both).

pub mod firebase;
pub mod namespace;
pub mod session;

use proto::gs2::validate::{self, NAME_MAX};
use proto::gs2::ChatError;

use super::request::{Caller, Req};

pub fn ns_name(req: &Req) -> Result<String, ChatError> {
    validate::required_name(
        "namespace",
        "namespaceName",
        req.opt_str("namespaceName")?.as_deref(),
        NAME_MAX,
    )
}

/// The user a call acts for: the player, or the `userId` parameter for backend calls.
pub fn user(req: &Req) -> Result<String, ChatError> {
    match &req.caller {
        Caller::Player(u) => Ok(u.clone()),
        _ => validate::user_id("gateway", req.opt_str("userId")?.as_deref()),
    }
}

pub fn not_found(model: &str) -> ChatError {
    ChatError::NotFound {
        component: model.into(),
        message: format!("gateway.{model}.{model}.error.notFound"),
    }
}
