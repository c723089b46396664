//! One Stream call as handlers see it: its family (v1 or v2 paths), the authenticated caller,
//! the query string (decoded once) and the JSON body. Extracted once per request, before any
//! handler runs, so every route checks `api_key` and the token the same way.

use std::collections::HashMap;

use axum::extract::{FromRequest, Request};
use axum::http::header::AUTHORIZATION;
use proto::stream::error::{StreamCode, StreamError};
use proto::stream::time::Family;
use serde_json::Value;

use super::auth::Caller;
use super::error::ApiError;
use super::Stream;
use crate::clock::now_ms;
use crate::faces::http::{read_decoded, BodyError};

pub struct Call {
    pub family: Family,
    pub caller: Caller,
    pub query: HashMap<String, String>,
    /// The JSON body; `Null` when there is none.
    pub body: Value,
}

impl FromRequest<Stream> for Call {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &Stream) -> Result<Self, ApiError> {
        let (parts, body) = req.into_parts();
        let family = Family::of_path(parts.uri.path());
        let query = parse_query(parts.uri.query())?;
        state
            .keys
            .check_api_key(query.get("api_key").map(String::as_str))?;
        let header = |name| parts.headers.get(name).and_then(|v| v.to_str().ok());
        let caller = state.keys.caller(
            header("stream-auth-type"),
            header(AUTHORIZATION.as_str()),
            now_ms() / 1000,
        )?;
        check_token_account(state, &caller)?;
        let bytes = read_decoded(&parts.headers, body)
            .await
            .map_err(|e| match e {
                BodyError::TooLarge => StreamError::payload_too_big("request body too large"),
                other => StreamError::input(format!("unreadable request body: {other}")),
            })?;
        let body = match bytes.iter().all(u8::is_ascii_whitespace) {
            true => Value::Null,
            false => serde_json::from_slice(&bytes)
                .map_err(|e| StreamError::input(format!("invalid JSON body: {e}")))?,
        };
        Ok(Call {
            family,
            caller,
            query,
            body,
        })
    }
}

/// The query string as name → value, each decoded once (`stream-protocol.md` §1.2).
pub fn parse_query(raw: Option<&str>) -> Result<HashMap<String, String>, StreamError> {
    let pairs: Vec<(String, String)> = serde_urlencoded::from_str(raw.unwrap_or(""))
        .map_err(|e| StreamError::input(format!("invalid query string: {e}")))?;
    Ok(pairs.into_iter().collect())
}

/// Refuses a user token of a deactivated or deleted user (code 17), or one issued before the
/// user's `revoke_tokens_issued_before` (code 40, so the JS client fetches a new token).
pub fn check_token_account(state: &Stream, caller: &Caller) -> Result<(), ApiError> {
    let Caller::User { id, issued_at } = caller else {
        return Ok(());
    };
    let Some(account) = state.view.account(id)? else {
        return Ok(());
    };
    if account.deleted_at.is_some() {
        return Err(StreamError::not_allowed(format!("user {id} is deleted")).into());
    }
    if account.deactivated_at.is_some() {
        return Err(StreamError::not_allowed(format!("user {id} is deactivated")).into());
    }
    let Some(revoked_before) = account.revoke_tokens_issued_before else {
        return Ok(());
    };
    let issued_ns = issued_at.map(|s| s.saturating_mul(1_000_000_000));
    if issued_ns.is_none_or(|iat| iat < revoked_before) {
        return Err(StreamError::auth(StreamCode::TokenExpired, "token has been revoked").into());
    }
    Ok(())
}

impl Call {
    /// A query parameter, `null`/empty treated as absent.
    pub fn param(&self, name: &str) -> Option<&str> {
        proto::stream::query::present(self.query.get(name).map(String::as_str))
    }

    /// The user a call acts for: a user token's own user (naming another is refused), or for a
    /// server token the `user_id` of the body (`user_id` or `user.id`) or of the query.
    pub fn acting_user(&self) -> Result<Option<String>, StreamError> {
        let named = self
            .body
            .get("user_id")
            .and_then(Value::as_str)
            .or_else(|| self.body.pointer("/user/id").and_then(Value::as_str))
            .or_else(|| self.param("user_id"))
            .map(str::to_string);
        match &self.caller {
            Caller::User { id, .. } => match named {
                Some(n) if n != *id => Err(StreamError::not_allowed(format!(
                    "user {id} may not act for user {n}"
                ))),
                _ => Ok(Some(id.clone())),
            },
            Caller::Server => Ok(named),
            Caller::Anonymous => Ok(None),
        }
    }

    /// Refuses callers that are not the server (code 17).
    pub fn require_server(&self, what: &str) -> Result<(), StreamError> {
        match self.caller {
            Caller::Server => Ok(()),
            _ => Err(StreamError::not_allowed(format!(
                "{what} needs a server-side token"
            ))),
        }
    }
}

/// A non-negative integer field of a request object (`limit`, `offset`…), `default` when absent
/// or null.
pub fn count(obj: &Value, name: &str, default: usize) -> Result<usize, StreamError> {
    match obj.get(name) {
        None | Some(Value::Null) => Ok(default),
        Some(v) => v
            .as_u64()
            .map(|n| n as usize)
            .ok_or_else(|| StreamError::input_field(name, "must be a non-negative integer")),
    }
}
