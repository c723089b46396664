//! GS2-Gateway handlers: namespaces, WebSocket sessions (cluster-wide), firebase tokens and
//! notifications. User-data endpoints share the chat handlers (one dump holds both).

pub mod firebase;
pub mod namespace;
pub mod session;

use proto::gs2::ChatError;

use super::chat::{acting_user, name_field};
use super::request::Req;

pub fn ns_name(req: &Req) -> Result<String, ChatError> {
    name_field(req, "namespace", "namespaceName")
}

/// The user a call acts for: the player, or the `userId` parameter for backend calls.
pub fn user(req: &Req) -> Result<String, ChatError> {
    acting_user(req, "gateway")
}

pub fn not_found(model: &str) -> ChatError {
    ChatError::NotFound {
        component: model.into(),
        message: format!("gateway.{model}.{model}.error.notFound"),
    }
}
