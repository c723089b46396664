//! Subscriptions, for players (`/user/me/…`, user from the access token) and the backend
//! (`/user/{userId}/…`): one handler each, the user resolved from the caller.

use proto::command::Command;
use proto::gs2::models::NotificationType;
use proto::gs2::validate::{self, PREFIX_MAX};
use proto::gs2::ChatError;
use serde_json::Value;

use super::room::ns_and_room;
use super::{acting_user, item, items, name_field, page, read, text_field, write_item};
use crate::faces::gs2::error::ApiError;
use crate::faces::gs2::request::Req;
use crate::faces::gs2::App;

/// The subscribing user: the player, or the `userId` path parameter for backend calls.
fn user(req: &Req) -> Result<String, ChatError> {
    acting_user(req, "subscribe")
}

fn notification_types(req: &Req) -> Result<Vec<NotificationType>, ChatError> {
    let types: Vec<NotificationType> = req.opt("notificationTypes")?.unwrap_or_default();
    validate::notification_types("subscribe", &types)?;
    Ok(types)
}

pub async fn describe(app: App, req: Req) -> Result<Value, ApiError> {
    let ns = name_field(&req, "subscribe", "namespaceName")?;
    let user = user(&req)?;
    let prefix = text_field(&req, "subscribe", "roomNamePrefix", PREFIX_MAX)?;
    let (token, limit) = page(&req, "subscribe")?;
    let view = read(&app, &req).await?;
    view.require_namespace(&ns)?;
    let (list, next) =
        view.subscribes_by_user(&ns, &user, prefix.as_deref(), token.as_deref(), limit)?;
    Ok(items(&list, next, |s| app.render.subscribe(s)))
}

pub async fn describe_by_room(app: App, req: Req) -> Result<Value, ApiError> {
    let (ns, room) = ns_and_room(&req)?;
    let (token, limit) = page(&req, "subscribe")?;
    let view = read(&app, &req).await?;
    view.require_room(&ns, &room)?;
    let (list, next) = view.subscribes_by_room(&ns, &room, token.as_deref(), limit)?;
    Ok(items(&list, next, |s| app.render.subscribe(s)))
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
    write_item!(app, req, cmd, Subscribe => subscribe)
}

pub async fn get(app: App, req: Req) -> Result<Value, ApiError> {
    let (ns, room) = ns_and_room(&req)?;
    let user = user(&req)?;
    let s = read(&app, &req)
        .await?
        .live_subscribe(&ns, &room, &user)?
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
    write_item!(app, req, cmd, Subscribe => subscribe)
}

pub async fn unsubscribe(app: App, req: Req) -> Result<Value, ApiError> {
    let (ns, room) = ns_and_room(&req)?;
    let user = user(&req)?;
    let cmd = Command::Unsubscribe {
        namespace: ns,
        room,
        user_id: user,
    };
    write_item!(app, req, cmd, Subscribe => subscribe)
}
