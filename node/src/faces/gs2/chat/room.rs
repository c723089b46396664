//! Rooms: player and backend create/update/delete with owner and white-list rules; passwords
//! are hashed here, before proposing, and never leave the node in clear.

use proto::command::{Actor, Command, Outcome, PasswordChange};
use proto::gs2::validate::{
    self, METADATA_MAX, NAME_MAX, PAGE_TOKEN_MAX, PASSWORD_MAX, PREFIX_MAX,
};
use proto::gs2::ChatError;
use serde_json::Value;

use super::{hash_password, item, items, read, unexpected, write};
use crate::faces::gs2::error::ApiError;
use crate::faces::gs2::request::Req;
use crate::faces::gs2::App;

pub fn ns_and_room(req: &Req) -> Result<(String, String), ChatError> {
    let ns = validate::required_name(
        "room",
        "namespaceName",
        req.opt_str("namespaceName")?.as_deref(),
        NAME_MAX,
    )?;
    let room = validate::required_name(
        "room",
        "roomName",
        req.opt_str("roomName")?.as_deref(),
        NAME_MAX,
    )?;
    Ok((ns, room))
}

struct RoomFields {
    metadata: Option<String>,
    password: Option<String>,
    white_list: Vec<String>,
}

fn fields(req: &Req) -> Result<RoomFields, ChatError> {
    let metadata = req.opt_str("metadata")?;
    validate::text("room", "metadata", metadata.as_deref(), METADATA_MAX)?;
    let password = req.opt_str("password")?;
    validate::text("room", "password", password.as_deref(), PASSWORD_MAX)?;
    let white_list: Vec<String> = req.opt("whiteListUserIds")?.unwrap_or_default();
    validate::white_list("room", &white_list)?;
    Ok(RoomFields {
        metadata,
        password,
        white_list,
    })
}

fn room_outcome(app: &App, o: Outcome) -> Result<Value, ApiError> {
    match o {
        Outcome::Room(r) => Ok(item(app.render.room(&r))),
        o => Err(unexpected(o)),
    }
}

pub async fn describe(app: App, req: Req) -> Result<Value, ApiError> {
    let ns = validate::required_name(
        "room",
        "namespaceName",
        req.opt_str("namespaceName")?.as_deref(),
        NAME_MAX,
    )?;
    let prefix = req.opt_str("namePrefix")?;
    validate::text("room", "namePrefix", prefix.as_deref(), PREFIX_MAX)?;
    let token = req.opt_str("pageToken")?;
    validate::text("room", "pageToken", token.as_deref(), PAGE_TOKEN_MAX)?;
    let limit = validate::limit("room", req.opt_i64("limit")?)?;
    let view = read(&app, &req).await?;
    view.require_namespace(&ns)?;
    let (list, next) = view.rooms(&ns, prefix.as_deref(), token.as_deref(), limit)?;
    Ok(items(
        list.iter().map(|r| app.render.room(r)).collect(),
        next,
    ))
}

async fn create_as(app: App, req: Req, actor: Actor) -> Result<Value, ApiError> {
    let ns = validate::required_name(
        "room",
        "namespaceName",
        req.opt_str("namespaceName")?.as_deref(),
        NAME_MAX,
    )?;
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
    let o = write(&app, &req, cmd).await?;
    room_outcome(&app, o)
}

pub async fn create(app: App, req: Req) -> Result<Value, ApiError> {
    let user = req.player()?;
    create_as(app, req, Actor::Player(user)).await
}

pub async fn create_from_backend(app: App, req: Req) -> Result<Value, ApiError> {
    let user = optional_user(&req)?;
    create_as(app, req, Actor::Backend(user)).await
}

fn optional_user(req: &Req) -> Result<Option<String>, ChatError> {
    match req.opt_str("userId")? {
        Some(u) => Ok(Some(validate::user_id("room", Some(&u))?)),
        None => Ok(None),
    }
}

pub async fn get(app: App, req: Req) -> Result<Value, ApiError> {
    let (ns, room) = ns_and_room(&req)?;
    let r = read(&app, &req).await?.require_room(&ns, &room)?;
    Ok(item(app.render.room(&r)))
}

/// Updates replace metadata and the white list. The password is kept when the request has
/// none (it cannot be read back to be re-sent), removed by an empty string, else replaced.
async fn update_as(app: App, req: Req, actor: Actor) -> Result<Value, ApiError> {
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
    let o = write(&app, &req, cmd).await?;
    room_outcome(&app, o)
}

pub async fn update(app: App, req: Req) -> Result<Value, ApiError> {
    let user = req.player()?;
    update_as(app, req, Actor::Player(user)).await
}

pub async fn update_from_backend(app: App, req: Req) -> Result<Value, ApiError> {
    let user = optional_user(&req)?;
    update_as(app, req, Actor::Backend(user)).await
}

async fn delete_as(app: App, req: Req, actor: Actor) -> Result<Value, ApiError> {
    let (ns, room) = ns_and_room(&req)?;
    let cmd = Command::DeleteRoom {
        namespace: ns,
        name: room,
        actor,
    };
    let o = write(&app, &req, cmd).await?;
    room_outcome(&app, o)
}

pub async fn delete(app: App, req: Req) -> Result<Value, ApiError> {
    let user = req.player()?;
    delete_as(app, req, Actor::Player(user)).await
}

pub async fn delete_from_backend(app: App, req: Req) -> Result<Value, ApiError> {
    let user = optional_user(&req)?;
    delete_as(app, req, Actor::Backend(user)).await
}
