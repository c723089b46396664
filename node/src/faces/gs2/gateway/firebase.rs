//! Firebase tokens of users (replicated), used for mobile push when a user is offline.

use proto::command::{Command, Outcome};
use proto::gs2::validate;
use serde_json::Value;

use super::{not_found, ns_name, user};
use crate::faces::gs2::chat::{item, read, unexpected, write};
use crate::faces::gs2::error::ApiError;
use crate::faces::gs2::request::Req;
use crate::faces::gs2::App;

fn outcome(app: &App, o: Outcome) -> Result<Value, ApiError> {
    match o {
        Outcome::FirebaseToken(t) => Ok(item(app.render.firebase_token(&t))),
        o => Err(unexpected(o)),
    }
}

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
    let locale = req.opt_str("locale")?;
    validate::text("firebaseToken", "locale", locale.as_deref(), 64)?;
    let cmd = Command::SetFirebaseToken {
        namespace,
        user_id,
        token,
        locale,
    };
    let o = write(&app, &req, cmd).await?;
    outcome(&app, o)
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
    let o = write(
        &app,
        &req,
        Command::DeleteFirebaseToken { namespace, user_id },
    )
    .await?;
    outcome(&app, o)
}
