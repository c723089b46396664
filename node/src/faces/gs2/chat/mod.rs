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
use proto::gs2::ChatError;
use serde::Serialize;
use serde_json::{json, Value};

use super::error::ApiError;
use super::request::Req;
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

pub fn items<T: Serialize>(v: Vec<T>, next: Option<String>) -> Value {
    json!({ "items": v, "nextPageToken": next })
}

pub fn unexpected(o: Outcome) -> ApiError {
    ApiError::Internal(format!("unexpected apply outcome {o:?}"))
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
