//! Rooms: player and backend create/update/delete with owner and white-list rules (one
//! handler each, the actor resolved from the caller); passwords are hashed here, before
//! proposing, and never leave the node in clear.

use proto::command::{Actor, Command, PasswordChange};
use proto::gs2::validate::{self, METADATA_MAX, NAME_MAX, PASSWORD_MAX, PREFIX_MAX};
use proto::gs2::ChatError;
use serde_json::Value;

use super::{
    hash_password, item, items, name_field, optional_user, page, read, text_field, write_item,
};
use crate::faces::gs2::error::ApiError;
use crate::faces::gs2::request::{Caller, Req};
use crate::faces::gs2::App;

pub fn ns_and_room(req: &Req) -> Result<(String, String), ChatError> {
    let ns = name_field(req, "room", "namespaceName")?;
    let room = name_field(req, "room", "roomName")?;
    Ok((ns, room))
}

struct RoomFields {
    metadata: Option<String>,
    password: Option<String>,
    white_list: Vec<String>,
}

fn fields(req: &Req) -> Result<RoomFields, ChatError> {
    let metadata = text_field(req, "room", "metadata", METADATA_MAX)?;
    let password = text_field(req, "room", "password", PASSWORD_MAX)?;
    let white_list: Vec<String> = req.opt("whiteListUserIds")?.unwrap_or_default();
    validate::white_list("room", &white_list)?;
    Ok(RoomFields {
        metadata,
        password,
        white_list,
    })
}

pub async fn describe(app: App, req: Req) -> Result<Value, ApiError> {
    let ns = name_field(&req, "room", "namespaceName")?;
    let prefix = text_field(&req, "room", "namePrefix", PREFIX_MAX)?;
    let (token, limit) = page(&req, "room")?;
    let view = read(&app, &req).await?;
    view.require_namespace(&ns)?;
    let (list, next) = view.rooms(&ns, prefix.as_deref(), token.as_deref(), limit)?;
    Ok(items(&list, next, |r| app.render.room(r)))
}

/// Who acts: the player, or the backend on behalf of the optional `userId`.
fn actor(req: &Req) -> Result<Actor, ChatError> {
    match &req.caller {
        Caller::Player(u) => Ok(Actor::Player(u.clone())),
        _ => Ok(Actor::Backend(optional_user(req, "room")?)),
    }
}

pub async fn create(app: App, req: Req) -> Result<Value, ApiError> {
    let actor = actor(&req)?;
    let ns = name_field(&req, "room", "namespaceName")?;
    let name = match req.opt_str("name")? {
        Some(n) => {
            validate::name("room", "name", &n, NAME_MAX)?;
            n
        }
        None => uuid::Uuid::new_v4().to_string(),
    };
    let f = fields(&req)?;
    let password_hash = match f.password.filter(|p| !p.is_empty()) {
        Some(p) => Some(hash_password(p).await?),
        None => None,
    };
    let cmd = Command::CreateRoom {
        namespace: ns,
        name,
        actor,
        metadata: f.metadata,
        password_hash,
        white_list_user_ids: f.white_list,
    };
    write_item!(app, req, cmd, Room => room)
}

pub async fn get(app: App, req: Req) -> Result<Value, ApiError> {
    let (ns, room) = ns_and_room(&req)?;
    let r = read(&app, &req).await?.require_room(&ns, &room)?;
    Ok(item(app.render.room(&r)))
}

/// Updates replace metadata and the white list. The password is kept when the request has
/// none (it cannot be read back to be re-sent), removed by an empty string, else replaced.
pub async fn update(app: App, req: Req) -> Result<Value, ApiError> {
    let actor = actor(&req)?;
    let (ns, room) = ns_and_room(&req)?;
    let f = fields(&req)?;
    let password = match f.password {
        None => PasswordChange::Keep,
        Some(p) if p.is_empty() => PasswordChange::Clear,
        Some(p) => PasswordChange::Set(hash_password(p).await?),
    };
    let cmd = Command::UpdateRoom {
        namespace: ns,
        name: room,
        actor,
        metadata: f.metadata,
        password,
        white_list_user_ids: f.white_list,
    };
    write_item!(app, req, cmd, Room => room)
}

pub async fn delete(app: App, req: Req) -> Result<Value, ApiError> {
    let actor = actor(&req)?;
    let (ns, room) = ns_and_room(&req)?;
    let cmd = Command::delete_room(ns, room, actor);
    write_item!(app, req, cmd, Room => room)
}
