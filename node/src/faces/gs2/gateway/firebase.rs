//! Firebase tokens of users (replicated), used for mobile push when a user is offline.

use proto::command::Command;
use proto::gs2::validate;
use serde_json::Value;

use super::{not_found, ns_name, user};
use crate::faces::gs2::chat::{item, read, text_field, write_item};
use crate::faces::gs2::error::ApiError;
use crate::faces::gs2::request::Req;
use crate::faces::gs2::App;

pub async fn set(app: App, req: Req) -> Result<Value, ApiError> {
    let namespace = ns_name(&req)?;
    let user_id = user(&req)?;
    let token = req.opt_str("token")?.unwrap_or_default();
    if token.is_empty() {
        return Err(proto::gs2::ChatError::invalid(
            "token",
            "gateway.firebaseToken.token.error.require",
        )
        .into());
    }
    validate::text("firebaseToken", "token", Some(&token), 1024)?;
    let locale = text_field(&req, "firebaseToken", "locale", 64)?;
    let cmd = Command::SetFirebaseToken {
        namespace,
        user_id,
        token,
        locale,
    };
    write_item!(app, req, cmd, FirebaseToken => firebase_token)
}

pub async fn get(app: App, req: Req) -> Result<Value, ApiError> {
    let ns = ns_name(&req)?;
    let user = user(&req)?;
    let t = read(&app, &req)
        .await?
        .firebase_token(&ns, &user)?
        .ok_or_else(|| not_found("firebaseToken"))?;
    Ok(item(app.render.firebase_token(&t)))
}

pub async fn delete(app: App, req: Req) -> Result<Value, ApiError> {
    let namespace = ns_name(&req)?;
    let user_id = user(&req)?;
    let cmd = Command::DeleteFirebaseToken { namespace, user_id };
    write_item!(app, req, cmd, FirebaseToken => firebase_token)
}
