//! The typed chat error. Each variant maps to one HTTP status and one GS2 error entry
//! (`{component, message, code}`, `gs2-protocol.md` §3 and §11) in [`ChatError::status`] and
//! [`ChatError::detail`]; nothing else in the code base builds those.

use serde::{Deserialize, Serialize};

/// One entry of the GS2 error list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorDetail {
    pub component: String,
    pub message: String,
    pub code: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
pub enum ChatError {
    /// A request field failed validation. `message` follows `chat.<model>.<field>.error.<kind>`.
    #[error("invalid {component}: {message}")]
    Invalid { component: String, message: String },
    #[error("{component} not found")]
    NotFound { component: String, message: String },
    #[error("{component} already exists")]
    AlreadyExists { component: String, message: String },
    #[error("room requires a password")]
    PasswordRequired,
    #[error("wrong room password")]
    PasswordInvalid,
    #[error("user not in the room's white list")]
    NotInWhiteList,
    #[error("only the room owner may do this")]
    NotOwner,
    #[error("player creation of rooms is disabled")]
    RoomCreationDisabled,
    #[error("players may not post in category {category}")]
    PostRejected { category: i64 },
    #[error("unauthorized: {message}")]
    Unauthorized { message: String },
    #[error("unsupported: {message}")]
    Unsupported { component: String, message: String },
}

impl ChatError {
    pub fn invalid(component: &str, message: impl Into<String>) -> Self {
        ChatError::Invalid {
            component: component.to_string(),
            message: message.into(),
        }
    }

    pub fn not_found(model: &str, field: &str) -> Self {
        ChatError::NotFound {
            component: model.to_string(),
            message: format!("chat.{model}.{field}.error.notFound"),
        }
    }

    pub fn already_exists(model: &str) -> Self {
        ChatError::AlreadyExists {
            component: model.to_string(),
            message: format!("chat.{model}.{model}.error.alreadyExists"),
        }
    }

    pub fn unauthorized(message: impl Into<String>) -> Self {
        ChatError::Unauthorized {
            message: message.into(),
        }
    }

    /// The HTTP status GS2 clients map to an exception class.
    pub fn status(&self) -> u16 {
        match self {
            ChatError::NotFound { .. } => 404,
            ChatError::AlreadyExists { .. } => 409,
            ChatError::Unauthorized { .. } => 401,
            _ => 400,
        }
    }

    /// The single GS2 error entry of this error (the code first clients read).
    pub fn detail(&self) -> ErrorDetail {
        let (component, message, code) = match self {
            ChatError::Invalid { component, message } => {
                (component.clone(), message.clone(), "invalid")
            }
            ChatError::NotFound { component, message } => {
                (component.clone(), message.clone(), "notFound")
            }
            ChatError::AlreadyExists { component, message } => {
                (component.clone(), message.clone(), "alreadyExists")
            }
            ChatError::PasswordRequired => (
                "password".into(),
                "chat.room.password.error.require".into(),
                "room.password.require",
            ),
            ChatError::PasswordInvalid => (
                "password".into(),
                "chat.room.password.error.invalid".into(),
                "room.password.invalid",
            ),
            ChatError::NotInWhiteList => (
                "room".into(),
                "chat.room.allowUserIds.error.notInclude".into(),
                "room.allowUserIds.notInclude",
            ),
            ChatError::NotOwner => (
                "room".into(),
                "chat.room.userId.error.notOwner".into(),
                "room.userId.notOwner",
            ),
            ChatError::RoomCreationDisabled => (
                "room".into(),
                "chat.namespace.allowCreateRoom.error.disabled".into(),
                "namespace.allowCreateRoom.disabled",
            ),
            ChatError::PostRejected { .. } => (
                "message".into(),
                "chat.categoryModel.rejectAccessTokenPost.error.rejected".into(),
                "categoryModel.rejectAccessTokenPost.rejected",
            ),
            ChatError::Unauthorized { message } => {
                ("token".into(), message.clone(), "unauthorized")
            }
            ChatError::Unsupported { component, message } => {
                (component.clone(), message.clone(), "unsupported")
            }
        };
        ErrorDetail {
            component,
            message,
            code: code.to_string(),
        }
    }

    /// The GS2 error body: `{"message": "<JSON text of the error list>"}`.
    pub fn body(&self) -> serde_json::Value {
        error_body(&[self.detail()])
    }
}

/// Builds the GS2 error body from a list of entries.
pub fn error_body(details: &[ErrorDetail]) -> serde_json::Value {
    let list = serde_json::to_string(details).unwrap_or_else(|_| "[]".to_string());
    serde_json::json!({ "message": list })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn body_message_is_a_json_string_holding_a_list() {
        let body = ChatError::PasswordRequired.body();
        let text = body["message"].as_str().expect("message is a string");
        let list: Vec<ErrorDetail> = serde_json::from_str(text).unwrap();
        assert_eq!(list[0].code, "room.password.require");
        assert_eq!(ChatError::PasswordRequired.status(), 400);
        assert_eq!(ChatError::not_found("room", "room").status(), 404);
    }
}
