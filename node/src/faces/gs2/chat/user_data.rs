//! User data (GDPR-style): dump to a downloadable JSON document, clean, and import a dump,
//! with their check endpoints. Upload and download URLs are served by the node itself and
//! carry an HMAC tag, so only links this project issued work.

use percent_encoding::{utf8_percent_encode, NON_ALPHANUMERIC};
use proto::command::Command;
use proto::gs2::validate::{self, UPLOAD_TOKEN_MAX};
use proto::gs2::ChatError;
use serde_json::{json, Value};

use super::{read, write};
use crate::faces::gs2::error::ApiError;
use crate::faces::gs2::request::Req;
use crate::faces::gs2::App;
use crate::raft::DEFAULT_GROUP;
use crate::storage::apply::collect_user;
use crate::storage::txn::Txn;

fn user(req: &Req) -> Result<String, ChatError> {
    validate::user_id("user", req.opt_str("userId")?.as_deref())
}

/// A fresh upload token and the absolute URL to `PUT` the document to.
pub fn new_upload(app: &App) -> (String, String) {
    let id = uuid::Uuid::new_v4().to_string();
    let token = format!("{id}.{}", app.tokens.tag(&format!("upload:{id}")));
    let url = format!("{}/chat/system/upload/{token}", app.public_url);
    (token, url)
}

fn download_url(app: &App, user: &str) -> String {
    format!(
        "{}/chat/system/download/{}/{}",
        app.public_url,
        utf8_percent_encode(user, NON_ALPHANUMERIC),
        app.tokens.tag(&format!("dump:{user}"))
    )
}

pub async fn dump(app: App, req: Req) -> Result<Value, ApiError> {
    let user_id = user(&req)?;
    write(&app, &req, Command::DumpUser { user_id }).await?;
    Ok(json!({}))
}

pub async fn check_dump(app: App, req: Req) -> Result<Value, ApiError> {
    let user = user(&req)?;
    read(&app, &req)
        .await?
        .dump(&user)?
        .ok_or_else(|| ChatError::not_found("dump", "userId"))?;
    Ok(json!({ "url": download_url(&app, &user) }))
}

pub async fn clean(app: App, req: Req) -> Result<Value, ApiError> {
    let user_id = user(&req)?;
    write(&app, &req, Command::clean_user(user_id)).await?;
    Ok(json!({}))
}

pub async fn check_clean(app: App, req: Req) -> Result<Value, ApiError> {
    let user = user(&req)?;
    if read(&app, &req).await?.user_has_data(&user)? {
        return Err(ChatError::invalid("userId", "chat.user.clean.error.notCompleted").into());
    }
    Ok(json!({}))
}

pub async fn prepare_import(app: App, req: Req) -> Result<Value, ApiError> {
    user(&req)?;
    let (token, url) = new_upload(&app);
    Ok(json!({ "uploadToken": token, "uploadUrl": url }))
}

pub async fn import(app: App, req: Req) -> Result<Value, ApiError> {
    let user_id = user(&req)?;
    let upload_token = req
        .opt_str("uploadToken")?
        .ok_or_else(|| ChatError::invalid("uploadToken", "chat.user.uploadToken.error.require"))?;
    validate::text("user", "uploadToken", Some(&upload_token), UPLOAD_TOKEN_MAX)?;
    write(
        &app,
        &req,
        Command::ImportUser {
            user_id,
            upload_token,
        },
    )
    .await?;
    Ok(json!({}))
}

/// The import ran synchronously; the URL gives the user's data as it now is.
pub async fn check_import(app: App, req: Req) -> Result<Value, ApiError> {
    let user = user(&req)?;
    read(&app, &req).await?;
    Ok(json!({ "url": download_url(&app, &user) }))
}

/// `GET` of a download URL: the stored dump, or the user's current data if never dumped.
pub async fn download(app: App, req: Req) -> Result<Value, ApiError> {
    let user = user(&req)?;
    let tag = req.opt_str("tag")?.unwrap_or_default();
    if !app.tokens.check_tag(&format!("dump:{user}"), &tag) {
        return Err(ChatError::unauthorized("chat.download.error.invalid").into());
    }
    let view = read(&app, &req).await?;
    if let Some(doc) = view.dump(&user)? {
        return serde_json::from_str(&doc).map_err(|e| ApiError::Internal(e.to_string()));
    }
    let dump = collect_user(&Txn::new(view.store(), DEFAULT_GROUP), &user)?;
    serde_json::to_value(dump).map_err(|e| ApiError::Internal(e.to_string()))
}

/// `PUT` of an upload URL: stores the raw body under the token (replicated).
pub async fn upload(app: App, req: Req) -> Result<Value, ApiError> {
    let token = req
        .opt_str("uploadToken")?
        .ok_or_else(|| ChatError::not_found("upload", "uploadToken"))?;
    let valid = token
        .split_once('.')
        .is_some_and(|(id, tag)| app.tokens.check_tag(&format!("upload:{id}"), tag));
    if !valid {
        return Err(ChatError::not_found("upload", "uploadToken").into());
    }
    let body = String::from_utf8(req.raw.clone().unwrap_or_default().to_vec())
        .map_err(|_| ApiError::BadBody("upload is not UTF-8 text".into()))?;
    write(&app, &req, Command::StoreUpload { token, body }).await?;
    Ok(json!({}))
}
