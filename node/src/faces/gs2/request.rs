//! A GS2 call after transport decoding: path, query and body fields flattened into one JSON
//! object (the shape WebSocket frames already have), plus the caller and request options.
//! Handlers read fields through typed getters that turn type mismatches into 400s.

use proto::gs2::ChatError;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

use crate::raft::cluster::Consistency;

/// Who is calling, as proven by the tokens presented.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Caller {
    Anonymous,
    /// A valid project token.
    Project,
    /// A valid player access token.
    Player(String),
}

#[derive(Debug, Clone)]
pub struct Req {
    pub params: Map<String, Value>,
    pub caller: Caller,
    /// `X-GS2-DUPLICATION-AVOIDER` (or `xGs2DuplicationAvoider`).
    pub duplication_avoider: Option<String>,
    pub consistency: Consistency,
    /// The raw body, for upload endpoints.
    pub raw: Option<bytes::Bytes>,
    /// The WebSocket connection the call arrived on (`setUserId` binds it).
    pub connection: Option<String>,
}

fn type_error(field: &str) -> ChatError {
    ChatError::invalid(field, format!("chat.request.{field}.error.invalid"))
}

impl Req {
    /// A string field; `null`, absent and the literal path segment `null` are all `None`.
    pub fn opt_str(&self, field: &str) -> Result<Option<String>, ChatError> {
        match self.params.get(field) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(_) => Err(type_error(field)),
        }
    }

    pub fn opt_i64(&self, field: &str) -> Result<Option<i64>, ChatError> {
        match self.params.get(field) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Number(n)) => n.as_i64().map(Some).ok_or_else(|| type_error(field)),
            Some(Value::String(s)) if s == "null" || s.is_empty() => Ok(None),
            Some(Value::String(s)) => s.parse().map(Some).map_err(|_| type_error(field)),
            Some(_) => Err(type_error(field)),
        }
    }

    pub fn opt_bool(&self, field: &str) -> Result<Option<bool>, ChatError> {
        match self.params.get(field) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Bool(b)) => Ok(Some(*b)),
            Some(Value::String(s)) if s == "true" => Ok(Some(true)),
            Some(Value::String(s)) if s == "false" => Ok(Some(false)),
            Some(_) => Err(type_error(field)),
        }
    }

    /// A structured field (settings objects, lists of models).
    pub fn opt<T: DeserializeOwned>(&self, field: &str) -> Result<Option<T>, ChatError> {
        match self.params.get(field) {
            None | Some(Value::Null) => Ok(None),
            Some(v) => serde_json::from_value(v.clone())
                .map(Some)
                .map_err(|_| type_error(field)),
        }
    }

    /// The scope of a duplication avoider: one caller's keys never collide with another's.
    pub fn dedup_key(&self) -> Option<String> {
        let da = self.duplication_avoider.as_ref()?;
        let scope = match &self.caller {
            Caller::Player(u) => format!("u:{u}"),
            Caller::Project | Caller::Anonymous => "p".to_string(),
        };
        Some(format!("{scope}:{da}"))
    }

    /// The player's user id (player methods are only dispatched with a player caller).
    pub fn player(&self) -> Result<String, ChatError> {
        match &self.caller {
            Caller::Player(u) => Ok(u.clone()),
            _ => Err(ChatError::unauthorized("chat.accessToken.error.require")),
        }
    }
}
