//! Who is calling: the app's `api_key` on every request, then the JWT in `Authorization` (bare,
//! no `Bearer`) or, on the WebSocket, the `authorization` query parameter, signed HS256 with the
//! app secret (`stream-protocol.md` §2). A token without `user_id` is a server token (the Python
//! SDK's `{}`, the JS `{"server": true}`): it may act for any user. A user token acts as that
//! user only. `stream-auth-type: anonymous` calls carry no token.
//!
//! Time claims are checked against the node's clock with a leeway (the Python SDK stamps `iat`
//! five seconds early, and clocks drift): expired → code 40 (the JS client then refreshes its
//! token), `nbf` ahead → 41, `iat` ahead → 42, anything else wrong → 43.

use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use proto::stream::error::{StreamCode, StreamError};
use serde::{Deserialize, Serialize};

/// Allowed clock difference for `exp`, `nbf` and `iat`, seconds.
pub const LEEWAY_S: u64 = 30;

/// The app's credentials.
pub struct AppKeys {
    pub api_key: String,
    decoding: DecodingKey,
    encoding: EncodingKey,
}

/// The claims this server reads; others are ignored.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Claims {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iat: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exp: Option<i64>,
}

/// The authenticated caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Caller {
    /// A server token: acts for any user named in the call.
    Server,
    /// A user token: acts as this user; `issued_at` (seconds) for token revocation.
    User { id: String, issued_at: Option<i64> },
    /// No token (`stream-auth-type: anonymous`).
    Anonymous,
}

impl Caller {
    pub fn user_id(&self) -> Option<&str> {
        match self {
            Caller::User { id, .. } => Some(id),
            _ => None,
        }
    }
}

impl AppKeys {
    pub fn new(api_key: &str, api_secret: &str) -> Self {
        AppKeys {
            api_key: api_key.to_string(),
            decoding: DecodingKey::from_secret(api_secret.as_bytes())
                .expect("a non-empty secret (checked by the configuration)"),
            encoding: EncodingKey::from_secret(api_secret.as_bytes())
                .expect("a non-empty secret (checked by the configuration)"),
        }
    }

    /// Refuses a call without this app's key (code 2).
    pub fn check_api_key(&self, given: Option<&str>) -> Result<(), StreamError> {
        match given {
            Some(k) if k == self.api_key => Ok(()),
            Some(_) => Err(StreamError::auth(
                StreamCode::AccessKeyError,
                "api_key not valid",
            )),
            None => Err(StreamError::auth(
                StreamCode::AccessKeyError,
                "api_key is missing from the query string",
            )),
        }
    }

    /// The caller of a call with this auth type and token.
    pub fn caller(
        &self,
        auth_type: Option<&str>,
        token: Option<&str>,
        now_s: i64,
    ) -> Result<Caller, StreamError> {
        let token = token
            .map(str::trim)
            .filter(|t| !t.is_empty() && *t != "undefined");
        match (auth_type.map(str::to_ascii_lowercase).as_deref(), token) {
            (Some("anonymous"), _) => Ok(Caller::Anonymous),
            (Some("jwt") | None, Some(t)) => self.verify(t, now_s),
            (Some("jwt") | None, None) => Err(StreamError::auth(
                StreamCode::AuthenticationFailed,
                "the Authorization header is missing (stream-auth-type jwt needs a token)",
            )),
            (Some(other), _) => Err(StreamError::input(format!(
                "stream-auth-type must be jwt or anonymous, not {other}"
            ))),
        }
    }

    /// Checks a token's signature and times.
    pub fn verify(&self, token: &str, now_s: i64) -> Result<Caller, StreamError> {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.required_spec_claims.clear();
        validation.validate_exp = false;
        validation.validate_nbf = false;
        validation.validate_aud = false;
        let claims = jsonwebtoken::decode::<serde_json::Value>(token, &self.decoding, &validation)
            .map_err(|e| match e.kind() {
                ErrorKind::InvalidSignature => StreamError::auth(
                    StreamCode::TokenSignatureInvalid,
                    "token signature is invalid",
                ),
                _ => StreamError::auth(
                    StreamCode::TokenSignatureInvalid,
                    format!("token is not valid: {e}"),
                ),
            })?
            .claims;
        let num = |name: &str| claims.get(name).and_then(serde_json::Value::as_i64);
        let leeway = LEEWAY_S as i64;
        if num("exp").is_some_and(|exp| exp + leeway < now_s) {
            return Err(StreamError::auth(
                StreamCode::TokenExpired,
                "token has expired",
            ));
        }
        if num("nbf").is_some_and(|nbf| nbf > now_s + leeway) {
            return Err(StreamError::auth(
                StreamCode::TokenNotValidYet,
                "token is not valid yet",
            ));
        }
        if num("iat").is_some_and(|iat| iat > now_s + leeway) {
            return Err(StreamError::auth(
                StreamCode::TokenUsedBeforeIssuedAt,
                "token used before its issue time",
            ));
        }
        match claims.get("user_id") {
            None | Some(serde_json::Value::Null) => Ok(Caller::Server),
            Some(serde_json::Value::String(id)) if !id.is_empty() => Ok(Caller::User {
                id: id.clone(),
                issued_at: num("iat"),
            }),
            Some(_) => Err(StreamError::auth(
                StreamCode::TokenSignatureInvalid,
                "token user_id must be a non-empty string",
            )),
        }
    }

    /// A user token, as the SDKs' `createToken` makes (guest users get one from the server).
    pub fn user_token(&self, user_id: &str, iat: i64) -> String {
        let claims = Claims {
            user_id: Some(user_id.to_string()),
            iat: Some(iat),
            exp: None,
        };
        jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &self.encoding)
            .expect("HS256 claims always sign")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sign(secret: &str, claims: serde_json::Value) -> String {
        jsonwebtoken::encode(
            &Header::new(Algorithm::HS256),
            &claims,
            &EncodingKey::from_secret(secret.as_bytes()).unwrap(),
        )
        .unwrap()
    }

    const NOW: i64 = 1_700_000_000;

    #[test]
    fn server_tokens_have_no_user_and_user_tokens_name_one() {
        let keys = AppKeys::new("key", "secret-123");
        for server in [serde_json::json!({}), serde_json::json!({"server": true})] {
            assert_eq!(
                keys.verify(&sign("secret-123", server), NOW),
                Ok(Caller::Server)
            );
        }
        let t = sign(
            "secret-123",
            serde_json::json!({"user_id": "alice", "iat": NOW - 5}),
        );
        assert_eq!(
            keys.verify(&t, NOW),
            Ok(Caller::User {
                id: "alice".into(),
                issued_at: Some(NOW - 5)
            })
        );
        assert_eq!(
            keys.verify(&keys.user_token("bob", NOW), NOW)
                .unwrap()
                .user_id(),
            Some("bob")
        );
    }

    #[test]
    fn bad_tokens_get_the_codes_the_js_client_acts_on() {
        let keys = AppKeys::new("key", "secret-123");
        let code = |t: &str| keys.verify(t, NOW).unwrap_err().code.code();
        assert_eq!(
            code(&sign("other-secret", serde_json::json!({"user_id": "a"}))),
            43
        );
        assert_eq!(
            code(&sign(
                "secret-123",
                serde_json::json!({"user_id": "a", "exp": NOW - 60})
            )),
            40
        );
        assert_eq!(
            code(&sign(
                "secret-123",
                serde_json::json!({"user_id": "a", "nbf": NOW + 600})
            )),
            41
        );
        assert_eq!(
            code(&sign(
                "secret-123",
                serde_json::json!({"user_id": "a", "iat": NOW + 600})
            )),
            42
        );
        assert_eq!(code("not.a.token"), 43);
        // A JS dev token (signature "devtoken") is refused: auth checks are always on.
        assert_eq!(
            code("eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJ1c2VyX2lkIjoiYWxpY2UifQ==.devtoken"),
            43
        );
        // Within the leeway: accepted.
        let t = sign(
            "secret-123",
            serde_json::json!({"user_id": "a", "exp": NOW - 5}),
        );
        assert!(keys.verify(&t, NOW).is_ok());
    }

    #[test]
    fn api_key_and_auth_type_are_checked() {
        let keys = AppKeys::new("key", "secret-123");
        assert!(keys.check_api_key(Some("key")).is_ok());
        assert_eq!(keys.check_api_key(Some("nope")).unwrap_err().code.code(), 2);
        assert_eq!(keys.check_api_key(None).unwrap_err().code.code(), 2);
        assert_eq!(
            keys.caller(Some("anonymous"), None, NOW),
            Ok(Caller::Anonymous)
        );
        assert_eq!(
            keys.caller(Some("jwt"), None, NOW).unwrap_err().code.code(),
            3
        );
        assert_eq!(
            keys.caller(Some("basic"), Some("x"), NOW)
                .unwrap_err()
                .code
                .code(),
            4
        );
    }
}
