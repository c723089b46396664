//! Subscriptions, for players (`/user/me/…`, user from the access token) and the backend
//! (`/user/{userId}/…`): one handler each, the user resolved from the caller.

use proto::command::{Command, Outcome};
use proto::gs2::models::NotificationType;
use proto::gs2::validate::{self, PAGE_TOKEN_MAX, PREFIX_MAX};
use proto::gs2::ChatError;
use serde_json::Value;

use super::room::ns_and_room;
use super::{item, items, read, unexpected, write};
use crate::faces::gs2::error::ApiError;
use crate::faces::gs2::request::{Caller, Req};
use crate::faces::gs2::App;

/// The subscribing user: the player, or the `userId` path parameter for backend calls.
fn user(req: &Req) -> Result<String, ChatError> {
    match &req.caller {
        Caller::Player(u) => Ok(u.clone()),
        _ => validate::user_id("subscribe", req.opt_str("userId")?.as_deref()),
    }
}

fn notification_types(req: &Req) -> Result<Vec<NotificationType>, ChatError> {
    let types: Vec<NotificationType> = req.opt("notificationTypes")?.unwrap_or_default();
    validate::notification_types("subscribe", &types)?;
    Ok(types)
}

fn subscribe_outcome(app: &App, o: Outcome) -> Result<Value, ApiError> {
    match o {
        Outcome::Subscribe(s) => Ok(item(app.render.subscribe(&s))),
        o => Err(unexpected(o)),
    }
}

fn page_args(req: &Req) -> Result<(Option<String>, usize), ChatError> {
    let token = req.opt_str("pageToken")?;
    validate::text("subscribe", "pageToken", token.as_deref(), PAGE_TOKEN_MAX)?;
    let limit = validate::limit("subscribe", req.opt_i64("limit")?)?;
    Ok((token, limit))
}

pub async fn describe(app: App, req: Req) -> Result<Value, ApiError> {
    let ns = validate::required_name(
        "subscribe",
        "namespaceName",
        req.opt_str("namespaceName")?.as_deref(),
        validate::NAME_MAX,
    )?;
    let user = user(&req)?;
    let prefix = req.opt_str("roomNamePrefix")?;
    validate::text("subscribe", "roomNamePrefix", prefix.as_deref(), PREFIX_MAX)?;
    let (token, limit) = page_args(&req)?;
    let view = read(&app, &req).await?;
    view.require_namespace(&ns)?;
    let (list, next) =
        view.subscribes_by_user(&ns, &user, prefix.as_deref(), token.as_deref(), limit)?;
    Ok(items(
        list.iter().map(|s| app.render.subscribe(s)).collect(),
        next,
    ))
}

pub async fn describe_by_room(app: App, req: Req) -> Result<Value, ApiError> {
    let (ns, room) = ns_and_room(&req)?;
    let (token, limit) = page_args(&req)?;
    let view = read(&app, &req).await?;
    view.require_room(&ns, &room)?;
    let (list, next) = view.subscribes_by_room(&ns, &room, token.as_deref(), limit)?;
    Ok(items(
        list.iter().map(|s| app.render.subscribe(s)).collect(),
        next,
    ))
}

pub async fn subscribe(app: App, req: Req) -> Result<Value, ApiError> {
    let (ns, room) = ns_and_room(&req)?;
    let user = user(&req)?;
    let types = notification_types(&req)?;
    let cmd = Command::Subscribe {
        namespace: ns,
        room,
        user_id: user,
        notification_types: types,
    };
    let o = write(&app, &req, cmd).await?;
    subscribe_outcome(&app, o)
}

pub async fn get(app: App, req: Req) -> Result<Value, ApiError> {
    let (ns, room) = ns_and_room(&req)?;
    let user = user(&req)?;
    let s = read(&app, &req)
        .await?
        .subscribe(&ns, &room, &user)?
        .ok_or_else(|| ChatError::not_found("subscribe", "subscribe"))?;
    Ok(item(app.render.subscribe(&s)))
}

pub async fn update_notification_type(app: App, req: Req) -> Result<Value, ApiError> {
    let (ns, room) = ns_and_room(&req)?;
    let user = user(&req)?;
    let types = notification_types(&req)?;
    let cmd = Command::UpdateNotificationType {
        namespace: ns,
        room,
        user_id: user,
        notification_types: types,
    };
    let o = write(&app, &req, cmd).await?;
    subscribe_outcome(&app, o)
}

pub async fn unsubscribe(app: App, req: Req) -> Result<Value, ApiError> {
    let (ns, room) = ns_and_room(&req)?;
    let user = user(&req)?;
    let cmd = Command::Unsubscribe {
        namespace: ns,
        room,
        user_id: user,
    };
    let o = write(&app, &req, cmd).await?;
    subscribe_outcome(&app, o)
}
