//! Messages: post, get, delete, and the two listing orders; player and backend calls share a
//! handler, the user resolved from the caller.

use proto::command::{Actor, Command};
use proto::gs2::records::NamespaceRecord;
use proto::gs2::validate::{self, MESSAGE_NAME_MAX, METADATA_MAX, PASSWORD_MAX};
use proto::gs2::ChatError;
use serde_json::{json, Value};

use super::room::ns_and_room;
use super::{
    acting_user, check_room_access, item, items, optional_user, page, read, text_field, write_item,
};
use crate::clock::now_ms;
use crate::faces::gs2::error::ApiError;
use crate::faces::gs2::request::{Caller, Req};
use crate::faces::gs2::App;
use crate::storage::View;

/// Default `startAt` of `describeMessages`: one hour ago.
const DEFAULT_WINDOW_MS: i64 = 3600 * 1000;

fn password(req: &Req) -> Result<Option<String>, ChatError> {
    text_field(req, "message", "password", PASSWORD_MAX)
}

fn category_filter(req: &Req) -> Result<Option<i64>, ChatError> {
    let c = req.opt_i64("category")?;
    if let Some(c) = c {
        validate::category("message", c)?;
    }
    Ok(c)
}

/// The user a read is checked for (white list): the player, or the optional `userId` of a
/// backend call.
fn reader(req: &Req) -> Result<Option<String>, ChatError> {
    match &req.caller {
        Caller::Player(u) => Ok(Some(u.clone())),
        _ => optional_user(req, "message"),
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

/// The view, after a read barrier, and the namespace of a room `user` may read (password and
/// white list checked).
async fn readable_room<'a>(
    app: &'a App,
    req: &Req,
    ns: &str,
    room: &str,
    password: Option<String>,
    user: Option<&str>,
) -> Result<(&'a View, NamespaceRecord), ApiError> {
    let view = read(app, req).await?;
    let namespace = view.require_namespace(ns)?;
    let r = view.require_room(ns, room)?;
    check_room_access(&r, password, user).await?;
    Ok((view, namespace))
}

pub async fn describe(app: App, req: Req) -> Result<Value, ApiError> {
    let user = reader(&req)?;
    let (ns, room) = ns_and_room(&req)?;
    let password = password(&req)?;
    let category = category_filter(&req)?;
    let now = now_ms();
    let start_at = req.opt_i64("startAt")?.unwrap_or(now - DEFAULT_WINDOW_MS);
    let limit = validate::limit("message", req.opt_i64("limit")?)?;
    let (view, namespace) =
        readable_room(&app, &req, &ns, &room, password, user.as_deref()).await?;
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

pub async fn latest(app: App, req: Req) -> Result<Value, ApiError> {
    let user = reader(&req)?;
    let (ns, room) = ns_and_room(&req)?;
    let password = password(&req)?;
    let category = category_filter(&req)?;
    let (token, limit) = page(&req, "message")?;
    let (view, namespace) =
        readable_room(&app, &req, &ns, &room, password, user.as_deref()).await?;
    let (list, next) = view.latest_messages(
        &ns,
        &room,
        category,
        namespace.expiry_cutoff(now_ms()),
        token.as_deref(),
        limit,
    )?;
    Ok(items(&list, next, |m| app.render.message(m)))
}

/// Checks the password against the room as of a read barrier, then proposes the post bound to
/// that room revision (apply refuses it if the room changed in between). The backend posts
/// as the required `userId`.
pub async fn post(app: App, req: Req) -> Result<Value, ApiError> {
    let user = acting_user(&req, "message")?;
    let actor = match &req.caller {
        Caller::Player(_) => Actor::Player(user.clone()),
        _ => Actor::Backend(Some(user.clone())),
    };
    let (ns, room) = ns_and_room(&req)?;
    let category = req.opt_i64("category")?.unwrap_or(0);
    validate::category("message", category)?;
    let metadata = text_field(&req, "message", "metadata", METADATA_MAX)?;
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
    write_item!(app, req, cmd, Message => message)
}

pub async fn get(app: App, req: Req) -> Result<Value, ApiError> {
    let user = reader(&req)?;
    let (ns, room) = ns_and_room(&req)?;
    let name = message_name(&req)?;
    let password = password(&req)?;
    let (view, namespace) =
        readable_room(&app, &req, &ns, &room, password, user.as_deref()).await?;
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

pub async fn delete(app: App, req: Req) -> Result<Value, ApiError> {
    let (ns, room) = ns_and_room(&req)?;
    let name = message_name(&req)?;
    optional_user(&req, "message")?;
    let cmd = Command::DeleteMessage {
        namespace: ns,
        room,
        name,
    };
    write_item!(app, req, cmd, Message => message)
}
