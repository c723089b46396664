//! Logins: project token (`identifier`) and player access token (`auth`).

use proto::gs2::validate;
use proto::gs2::ChatError;
use serde_json::{json, Value};

use super::auth::{Claims, TOKEN_TTL_MS};
use super::error::ApiError;
use super::request::Req;
use super::App;
use crate::clock::now_ms;

/// `POST /identifier/projectToken/login`: client credentials → project token.
pub async fn project_login(app: App, req: Req) -> Result<Value, ApiError> {
    let id = req.opt_str("client_id")?.or(req.opt_str("clientId")?);
    let secret = req
        .opt_str("client_secret")?
        .or(req.opt_str("clientSecret")?);
    let (Some(id), Some(secret)) = (id, secret) else {
        return Err(ChatError::unauthorized("identifier.projectToken.error.require").into());
    };
    if !app.tokens.check_credentials(&id, &secret) {
        return Err(ChatError::unauthorized("identifier.projectToken.error.invalid").into());
    }
    let token = app.tokens.sign(&Claims::Project {
        cid: id,
        exp: now_ms() + TOKEN_TTL_MS,
    });
    Ok(json!({
        "access_token": token,
        "token_type": "Bearer",
        "expires_in": TOKEN_TTL_MS / 1000,
        "owner_id": app.owner_id,
    }))
}

/// `POST /auth/login`: project token + user id → player access token.
pub async fn access_login(app: App, req: Req) -> Result<Value, ApiError> {
    let user = validate::user_id("accessToken", req.opt_str("userId")?.as_deref())?;
    let expire = now_ms() + TOKEN_TTL_MS;
    let token = app.tokens.sign(&Claims::Access {
        uid: user.clone(),
        exp: expire,
    });
    Ok(json!({ "token": token, "userId": user, "expire": expire }))
}
