//! A user's lifecycle: deactivate and reactivate (`POST /users/{id}/deactivate`,
//! `…/reactivate`), delete (v1 `DELETE /users/{id}`, soft or hard) and guests (`POST /guest`).
//! The changes are the face-neutral `ChangeAccounts` and `CreateAccount`, applied with the
//! entry's time; refusing the tokens of a deactivated or deleted user is the call's check
//! (`call::check_token_account`).

use axum::extract::{Path, State};
use axum::Json;
use proto::account::{AccountChange, AccountRecord, GUEST_ROLE};
use proto::command::{Command, Outcome};
use proto::stream::error::StreamError;
use serde_json::{json, Value};

use super::call::Call;
use super::error::ApiError;
use super::users::{account_input, check_user_id};
use super::{render, write, Stream};
use crate::clock::now_ms;

/// Options of the Stream calls this server does not carry out: refused with code 4 naming
/// them rather than ignored.
fn refuse_options(call: &Call, names: &[&str]) -> Result<(), StreamError> {
    for name in names {
        let given = match call.body.get(*name) {
            Some(Value::Bool(b)) => *b,
            Some(Value::Null) | None => call.param(name) == Some("true"),
            Some(Value::String(s)) => !s.is_empty(),
            Some(_) => true,
        };
        if given {
            return Err(StreamError::input_field(
                name,
                "is not supported by this server",
            ));
        }
    }
    Ok(())
}

/// Applies one change to one user; the user after it.
async fn change_one(
    s: &Stream,
    id: &str,
    change: AccountChange,
) -> Result<AccountRecord, ApiError> {
    check_user_id(id)?;
    let cmd = Command::ChangeAccounts {
        ids: vec![id.to_string()],
        change,
    };
    match write(s, cmd).await? {
        Outcome::Accounts(mut list) if list.len() == 1 => Ok(list.remove(0)),
        _ => Err(StreamError::internal("unexpected reply to a user change").into()),
    }
}

/// `POST /users/{user_id}/deactivate` (`deactivateUser`, `deactivate_user`): server only.
/// `deactivated_at` is set; the user's tokens are refused (code 17) until it is reactivated.
pub async fn deactivate(
    State(s): State<Stream>,
    Path(id): Path<String>,
    call: Call,
) -> Result<Json<Value>, ApiError> {
    call.require_server("deactivating a user")?;
    refuse_options(&call, &["mark_messages_deleted"])?;
    let user = change_one(&s, &id, AccountChange::Deactivate).await?;
    Ok(Json(render::ok(
        json!({ "user": render::user(&user, call.family, false) }),
    )))
}

/// `POST /users/{user_id}/reactivate` (`reactivateUser`, `reactivate_user`): server only;
/// clears `deactivated_at` (a user that is not deactivated: code 4). `restore_messages` is
/// accepted (messages are never deleted by a deactivation here); a new `name` is refused.
pub async fn reactivate(
    State(s): State<Stream>,
    Path(id): Path<String>,
    call: Call,
) -> Result<Json<Value>, ApiError> {
    call.require_server("reactivating a user")?;
    refuse_options(&call, &["name"])?;
    let user = change_one(&s, &id, AccountChange::Reactivate).await?;
    Ok(Json(render::ok(
        json!({ "user": render::user(&user, call.family, false) }),
    )))
}

/// v1 `DELETE /users/{id}?hard_delete=&mark_messages_deleted=` (`deleteUser`): server only.
/// Soft by default (`deleted_at` set, hidden from `queryUsers`, tokens refused); `hard_delete`
/// removes the account row. The answer's user is the account as deleted.
pub async fn delete(
    State(s): State<Stream>,
    Path(id): Path<String>,
    call: Call,
) -> Result<Json<Value>, ApiError> {
    call.require_server("deleting a user")?;
    refuse_options(
        &call,
        &["mark_messages_deleted", "delete_conversation_channels"],
    )?;
    let change = match call.param("hard_delete") {
        Some("true") => AccountChange::HardDelete,
        _ => AccountChange::SoftDelete,
    };
    let user = change_one(&s, &id, change).await?;
    Ok(Json(render::ok(
        json!({ "user": render::user(&user, call.family, false) }),
    )))
}

/// `POST /guest` (`setGuestUser`, `create_guest`): `{"user": {…}}`, any caller with the app's
/// key (the JS client calls it anonymously). Creates the user with role `guest` (the role given
/// is ignored; the id given, or a UUID) — an id already taken is code 4, so a guest never takes
/// over an account — and answers a user token for it.
pub async fn guest(State(s): State<Stream>, call: Call) -> Result<Json<Value>, ApiError> {
    let mut user = call
        .body
        .get("user")
        .and_then(Value::as_object)
        .cloned()
        .ok_or_else(|| StreamError::input_field("user", "must be a user object"))?;
    if user.get("id").is_none_or(Value::is_null) {
        user.insert("id".into(), json!(uuid::Uuid::new_v4().to_string()));
    }
    let mut input = account_input(&Value::Object(user))?;
    input.role = Some(GUEST_ROLE.to_string());
    input.revoke_tokens_issued_before = None;
    let rec = match write(&s, Command::CreateAccount { account: input }).await? {
        Outcome::Accounts(mut list) if list.len() == 1 => list.remove(0),
        _ => return Err(StreamError::internal("unexpected reply to a guest create").into()),
    };
    let token = s.keys.user_token(&rec.id, now_ms() / 1000);
    Ok(Json(render::ok(json!({
        "access_token": token,
        "user": render::user(&rec, call.family, false),
    }))))
}
