//! GS2-Chat handlers, one file per model. Each handler validates its fields (pure, in
//! `proto::gs2::validate`), then either reads the local view after a read barrier or proposes a
//! command through the cluster handle.

pub mod master;
pub mod message;
pub mod namespace;
pub mod room;
pub mod subscribe;
pub mod user_data;

use proto::command::{Command, Outcome, Reply};
use proto::gs2::records::RoomRecord;
use proto::gs2::validate::{self, NAME_MAX, PAGE_TOKEN_MAX};
use proto::gs2::ChatError;
use serde::Serialize;
use serde_json::{json, Value};

use super::error::ApiError;
use super::request::{Caller, Req};
use super::App;
use crate::storage::View;

/// Replicates a command and returns its outcome; business rejections become errors.
pub async fn write(app: &App, req: &Req, cmd: Command) -> Result<Outcome, ApiError> {
    match app.cluster.write(cmd, req.dedup_key()).await? {
        Reply::Ok(o) => Ok(o),
        Reply::Rejected(e) => Err(e.into()),
        Reply::Many(_) => Err(ApiError::Internal(
            "a batch reply reached a single write".into(),
        )),
    }
}

/// The local view, once it reflects what the request's consistency level asks for.
pub async fn read<'a>(app: &'a App, req: &Req) -> Result<&'a View, ApiError> {
    app.cluster.read_barrier(req.consistency).await?;
    Ok(&app.view)
}

pub fn item<T: Serialize>(v: T) -> Value {
    json!({ "item": v })
}

/// A page of a listing, each record rendered by `render`.
pub fn items<T, R: Serialize>(
    list: &[T],
    next: Option<String>,
    render: impl FnMut(&T) -> R,
) -> Value {
    let v: Vec<R> = list.iter().map(render).collect();
    json!({ "items": v, "nextPageToken": next })
}

pub fn unexpected(o: Outcome) -> ApiError {
    ApiError::Internal(format!("unexpected apply outcome {o:?}"))
}

/// Replicates a command and renders the outcome it must produce as `{"item": …}`:
/// `write_item!(app, req, cmd, Room => room)` renders `Outcome::Room(r)` with
/// `app.render.room(&r)`; any other outcome is an internal error.
macro_rules! write_item {
    ($app:expr, $req:expr, $cmd:expr, $variant:ident => $render:ident) => {
        match $crate::faces::gs2::chat::write(&$app, &$req, $cmd).await? {
            proto::command::Outcome::$variant(x) => {
                Ok($crate::faces::gs2::chat::item($app.render.$render(&x)))
            }
            o => Err($crate::faces::gs2::chat::unexpected(o)),
        }
    };
}
pub(crate) use write_item;

/// A required name field (at most `NAME_MAX` characters), its errors naming `model`.
pub fn name_field(req: &Req, model: &str, field: &str) -> Result<String, ChatError> {
    validate::required_name(model, field, req.opt_str(field)?.as_deref(), NAME_MAX)
}

/// An optional text field of at most `max` characters, its errors naming `model`.
pub fn text_field(
    req: &Req,
    model: &str,
    field: &str,
    max: usize,
) -> Result<Option<String>, ChatError> {
    let value = req.opt_str(field)?;
    validate::text(model, field, value.as_deref(), max)?;
    Ok(value)
}

/// The `pageToken` and `limit` of a listing, validated.
pub fn page(req: &Req, model: &str) -> Result<(Option<String>, usize), ChatError> {
    let token = text_field(req, model, "pageToken", PAGE_TOKEN_MAX)?;
    let limit = validate::limit(model, req.opt_i64("limit")?)?;
    Ok((token, limit))
}

/// The user a call acts for: the player, or the required `userId` parameter for backend calls.
pub fn acting_user(req: &Req, model: &str) -> Result<String, ChatError> {
    match &req.caller {
        Caller::Player(u) => Ok(u.clone()),
        _ => validate::user_id(model, req.opt_str("userId")?.as_deref()),
    }
}

/// The optional `userId` of a backend call, validated when present.
pub fn optional_user(req: &Req, model: &str) -> Result<Option<String>, ChatError> {
    match req.opt_str("userId")? {
        Some(u) => Ok(Some(validate::user_id(model, Some(&u))?)),
        None => Ok(None),
    }
}

/// Hashes a room password with a fresh salt (Argon2id, PHC string).
pub async fn hash_password(password: String) -> Result<String, ApiError> {
    tokio::task::spawn_blocking(move || {
        use argon2::password_hash::{rand_core::OsRng, PasswordHasher, SaltString};
        let salt = SaltString::generate(&mut OsRng);
        argon2::Argon2::default()
            .hash_password(password.as_bytes(), &salt)
            .map(|h| h.to_string())
            .map_err(|e| ApiError::Internal(format!("password hashing failed: {e}")))
    })
    .await
    .map_err(|e| ApiError::Internal(e.to_string()))?
}

pub async fn verify_password(hash: String, password: String) -> Result<bool, ApiError> {
    tokio::task::spawn_blocking(move || {
        use argon2::password_hash::{PasswordHash, PasswordVerifier};
        let Ok(parsed) = PasswordHash::new(&hash) else {
            return false;
        };
        argon2::Argon2::default()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok()
    })
    .await
    .map_err(|e| ApiError::Internal(e.to_string()))
}

/// Password and white-list rules for reading or posting in a room. `user` is the acting user
/// (`None` for backend calls that name no user, which skip the white list but not the password).
pub async fn check_room_access(
    room: &RoomRecord,
    password: Option<String>,
    user: Option<&str>,
) -> Result<(), ApiError> {
    if let Some(hash) = &room.password_hash {
        match password.filter(|p| !p.is_empty()) {
            None => return Err(ChatError::PasswordRequired.into()),
            Some(p) => {
                if !verify_password(hash.clone(), p).await? {
                    return Err(ChatError::PasswordInvalid.into());
                }
            }
        }
    }
    if let Some(user) = user {
        if !room.white_list_user_ids.is_empty()
            && !room.white_list_user_ids.iter().any(|u| u == user)
        {
            return Err(ChatError::NotInWhiteList.into());
        }
    }
    Ok(())
}
