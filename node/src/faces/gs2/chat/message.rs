//! Messages: post (player and backend), get, delete, and the two listing orders.

use proto::command::{Actor, Command, Outcome};
use proto::gs2::validate::{self, MESSAGE_NAME_MAX, METADATA_MAX, PAGE_TOKEN_MAX, PASSWORD_MAX};
use proto::gs2::ChatError;
use serde_json::{json, Value};

use super::room::ns_and_room;
use super::{check_room_access, item, items, read, unexpected, write};
use crate::clock::now_ms;
use crate::faces::gs2::error::ApiError;
use crate::faces::gs2::request::Req;
use crate::faces::gs2::App;

/// Default `startAt` of `describeMessages`: one hour ago.
const DEFAULT_WINDOW_MS: i64 = 3600 * 1000;

fn password(req: &Req) -> Result<Option<String>, ChatError> {
    let p = req.opt_str("password")?;
    validate::text("message", "password", p.as_deref(), PASSWORD_MAX)?;
    Ok(p)
}

fn category_filter(req: &Req) -> Result<Option<i64>, ChatError> {
    let c = req.opt_i64("category")?;
    if let Some(c) = c {
        validate::category("message", c)?;
    }
    Ok(c)
}

fn backend_user(req: &Req) -> Result<Option<String>, ChatError> {
    match req.opt_str("userId")? {
        Some(u) => Ok(Some(validate::user_id("message", Some(&u))?)),
        None => Ok(None),
    }
}

fn message_name(req: &Req) -> Result<String, ChatError> {
    validate::required_name(
        "message",
        "messageName",
        req.opt_str("messageName")?.as_deref(),
        MESSAGE_NAME_MAX,
    )
}

async fn describe_as(app: App, req: Req, user: Option<String>) -> Result<Value, ApiError> {
    let (ns, room) = ns_and_room(&req)?;
    let password = password(&req)?;
    let category = category_filter(&req)?;
    let now = now_ms();
    let start_at = req.opt_i64("startAt")?.unwrap_or(now - DEFAULT_WINDOW_MS);
    let limit = validate::limit("message", req.opt_i64("limit")?)?;
    let view = read(&app, &req).await?;
    let namespace = view.require_namespace(&ns)?;
    let r = view.require_room(&ns, &room)?;
    check_room_access(&r, password, user.as_deref()).await?;
    let list = view.messages_from(
        &ns,
        &room,
        start_at,
        category,
        namespace.expiry_cutoff(now),
        limit,
    )?;
    Ok(json!({ "items": list.iter().map(|m| app.render.message(m)).collect::<Vec<_>>() }))
}

pub async fn describe(app: App, req: Req) -> Result<Value, ApiError> {
    let user = req.player()?;
    describe_as(app, req, Some(user)).await
}

pub async fn describe_by_user_id(app: App, req: Req) -> Result<Value, ApiError> {
    let user = backend_user(&req)?;
    describe_as(app, req, user).await
}

async fn latest_as(app: App, req: Req, user: Option<String>) -> Result<Value, ApiError> {
    let (ns, room) = ns_and_room(&req)?;
    let password = password(&req)?;
    let category = category_filter(&req)?;
    let token = req.opt_str("pageToken")?;
    validate::text("message", "pageToken", token.as_deref(), PAGE_TOKEN_MAX)?;
    let limit = validate::limit("message", req.opt_i64("limit")?)?;
    let view = read(&app, &req).await?;
    let namespace = view.require_namespace(&ns)?;
    let r = view.require_room(&ns, &room)?;
    check_room_access(&r, password, user.as_deref()).await?;
    let (list, next) = view.latest_messages(
        &ns,
        &room,
        category,
        namespace.expiry_cutoff(now_ms()),
        token.as_deref(),
        limit,
    )?;
    Ok(items(
        list.iter().map(|m| app.render.message(m)).collect(),
        next,
    ))
}

pub async fn latest(app: App, req: Req) -> Result<Value, ApiError> {
    let user = req.player()?;
    latest_as(app, req, Some(user)).await
}

pub async fn latest_by_user_id(app: App, req: Req) -> Result<Value, ApiError> {
    let user = backend_user(&req)?;
    latest_as(app, req, user).await
}

/// Checks the password against the room as of a read barrier, then proposes the post bound to
/// that room revision (apply refuses it if the room changed in between).
async fn post_as(app: App, req: Req, actor: Actor, user: String) -> Result<Value, ApiError> {
    let (ns, room) = ns_and_room(&req)?;
    let category = req.opt_i64("category")?.unwrap_or(0);
    validate::category("message", category)?;
    let metadata = req.opt_str("metadata")?;
    validate::text("message", "metadata", metadata.as_deref(), METADATA_MAX)?;
    let password = password(&req)?;
    let mut checked_room_revision = None;
    if password.is_some() {
        let view = read(&app, &req).await?;
        let r = view.require_room(&ns, &room)?;
        if r.password_hash.is_some() {
            check_room_access(&r, password, Some(&user)).await?;
            checked_room_revision = Some(r.revision);
        }
    }
    let cmd = Command::Post {
        namespace: ns,
        room,
        name: uuid::Uuid::new_v4().to_string(),
        actor,
        user_id: user,
        category,
        metadata,
        checked_room_revision,
    };
    match write(&app, &req, cmd).await? {
        Outcome::Message(m) => Ok(item(app.render.message(&m))),
        o => Err(unexpected(o)),
    }
}

pub async fn post(app: App, req: Req) -> Result<Value, ApiError> {
    let user = req.player()?;
    post_as(app, req, Actor::Player(user.clone()), user).await
}

pub async fn post_by_user_id(app: App, req: Req) -> Result<Value, ApiError> {
    let user = validate::user_id("message", req.opt_str("userId")?.as_deref())?;
    post_as(app, req, Actor::Backend(Some(user.clone())), user).await
}

async fn get_as(app: App, req: Req, user: Option<String>) -> Result<Value, ApiError> {
    let (ns, room) = ns_and_room(&req)?;
    let name = message_name(&req)?;
    let password = password(&req)?;
    let view = read(&app, &req).await?;
    let namespace = view.require_namespace(&ns)?;
    let r = view.require_room(&ns, &room)?;
    check_room_access(&r, password, user.as_deref()).await?;
    let m = view
        .message(&ns, &room, &name)?
        .filter(|m| {
            namespace
                .expiry_cutoff(now_ms())
                .is_none_or(|c| m.created_at >= c)
        })
        .ok_or_else(|| ChatError::not_found("message", "message"))?;
    Ok(item(app.render.message(&m)))
}

pub async fn get(app: App, req: Req) -> Result<Value, ApiError> {
    let user = req.player()?;
    get_as(app, req, Some(user)).await
}

pub async fn get_by_user_id(app: App, req: Req) -> Result<Value, ApiError> {
    let user = backend_user(&req)?;
    get_as(app, req, user).await
}

pub async fn delete(app: App, req: Req) -> Result<Value, ApiError> {
    let (ns, room) = ns_and_room(&req)?;
    let name = message_name(&req)?;
    backend_user(&req)?;
    let cmd = Command::DeleteMessage {
        namespace: ns,
        room,
        name,
    };
    match write(&app, &req, cmd).await? {
        Outcome::Message(m) => Ok(item(app.render.message(&m))),
        o => Err(unexpected(o)),
    }
}
