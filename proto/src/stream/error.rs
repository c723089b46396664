//! Stream's error codes and the typed error of the Stream face.
//!
//! The codes are the ones the JS client names (`stream-protocol.md` §3.2); the SDKs act on `code`
//! only, so the HTTP status of each code is our choice ([`StreamCode::status`]). The body every
//! non-2xx answer carries (§3.1: the six keys the Python SDK requires) is built in one place,
//! [`StreamError::body`].

use std::collections::BTreeMap;

use serde_json::{json, Value};

/// Where the `more_info` key of every error body points.
pub const MORE_INFO: &str = "https://getstream.io/chat/docs/api_errors_response";

/// A Stream error code (`stream-protocol.md` §3.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(i32)]
pub enum StreamCode {
    InternalSystemError = -1,
    AccessKeyError = 2,
    AuthenticationFailed = 3,
    InputError = 4,
    DuplicateUsername = 6,
    RateLimit = 9,
    DoesNotExist = 16,
    NotAllowed = 17,
    EventNotSupported = 18,
    ChannelFeatureNotSupported = 19,
    MessageTooLong = 20,
    MultipleNestingLevel = 21,
    PayloadTooBig = 22,
    RequestTimeout = 23,
    MaxHeaderSizeExceeded = 24,
    TokenExpired = 40,
    TokenNotValidYet = 41,
    TokenUsedBeforeIssuedAt = 42,
    TokenSignatureInvalid = 43,
    CustomCommandEndpointMissing = 44,
    ConnectionIdNotFound = 46,
    CoolDown = 60,
    QueryChannelPermissions = 70,
    TooManyConnections = 71,
    AppSuspended = 99,
}

impl StreamCode {
    /// Every code, in numeric order.
    pub const ALL: [StreamCode; 25] = [
        StreamCode::InternalSystemError,
        StreamCode::AccessKeyError,
        StreamCode::AuthenticationFailed,
        StreamCode::InputError,
        StreamCode::DuplicateUsername,
        StreamCode::RateLimit,
        StreamCode::DoesNotExist,
        StreamCode::NotAllowed,
        StreamCode::EventNotSupported,
        StreamCode::ChannelFeatureNotSupported,
        StreamCode::MessageTooLong,
        StreamCode::MultipleNestingLevel,
        StreamCode::PayloadTooBig,
        StreamCode::RequestTimeout,
        StreamCode::MaxHeaderSizeExceeded,
        StreamCode::TokenExpired,
        StreamCode::TokenNotValidYet,
        StreamCode::TokenUsedBeforeIssuedAt,
        StreamCode::TokenSignatureInvalid,
        StreamCode::CustomCommandEndpointMissing,
        StreamCode::ConnectionIdNotFound,
        StreamCode::CoolDown,
        StreamCode::QueryChannelPermissions,
        StreamCode::TooManyConnections,
        StreamCode::AppSuspended,
    ];

    /// The number sent in the body's `code` key.
    pub fn code(self) -> i32 {
        self as i32
    }

    /// The code with this number, if Stream names one.
    pub fn from_code(code: i32) -> Option<StreamCode> {
        StreamCode::ALL.into_iter().find(|c| c.code() == code)
    }

    /// The HTTP status answered with this code unless a constructor says otherwise.
    pub fn status(self) -> u16 {
        use StreamCode::*;
        match self {
            InternalSystemError => 500,
            AccessKeyError
            | AuthenticationFailed
            | TokenExpired
            | TokenNotValidYet
            | TokenUsedBeforeIssuedAt
            | TokenSignatureInvalid => 401,
            DoesNotExist => 404,
            NotAllowed | QueryChannelPermissions | AppSuspended => 403,
            RateLimit | CoolDown | TooManyConnections => 429,
            PayloadTooBig => 413,
            RequestTimeout => 408,
            MaxHeaderSizeExceeded => 431,
            InputError
            | DuplicateUsername
            | EventNotSupported
            | ChannelFeatureNotSupported
            | MessageTooLong
            | MultipleNestingLevel
            | CustomCommandEndpointMissing
            | ConnectionIdNotFound => 400,
        }
    }
}

/// An error of the Stream face: the code, the HTTP status and the text the client sees.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message} (code {}, HTTP {status})", code.code())]
pub struct StreamError {
    pub code: StreamCode,
    pub status: u16,
    pub message: String,
    /// Per-field validation messages, sent as `exception_fields` when not empty.
    pub exception_fields: BTreeMap<String, String>,
}

impl StreamError {
    /// An error with `code` and that code's default status.
    pub fn new(code: StreamCode, message: impl Into<String>) -> Self {
        StreamError {
            code,
            status: code.status(),
            message: message.into(),
            exception_fields: BTreeMap::new(),
        }
    }

    /// A bad request (code 4, HTTP 400).
    pub fn input(message: impl Into<String>) -> Self {
        StreamError::new(StreamCode::InputError, message)
    }

    /// A bad request field (code 4, HTTP 400), also listed in `exception_fields`.
    pub fn input_field(field: &str, message: impl Into<String>) -> Self {
        let message = message.into();
        let mut err = StreamError::input(format!("{field}: {message}"));
        err.exception_fields.insert(field.to_string(), message);
        err
    }

    /// A missing object (code 16, HTTP 404).
    pub fn not_found(message: impl Into<String>) -> Self {
        StreamError::new(StreamCode::DoesNotExist, message)
    }

    /// A refused action (code 17, HTTP 403).
    pub fn not_allowed(message: impl Into<String>) -> Self {
        StreamError::new(StreamCode::NotAllowed, message)
    }

    /// An authentication failure with its token code (3, 40–43, …), HTTP 401.
    pub fn auth(code: StreamCode, message: impl Into<String>) -> Self {
        StreamError {
            status: 401,
            ..StreamError::new(code, message)
        }
    }

    /// Too many requests (code 9, HTTP 429).
    pub fn rate_limit(message: impl Into<String>) -> Self {
        StreamError::new(StreamCode::RateLimit, message)
    }

    /// A server fault (code -1, HTTP 500).
    pub fn internal(message: impl Into<String>) -> Self {
        StreamError::new(StreamCode::InternalSystemError, message)
    }

    /// A body over the size limit (code 22, HTTP 413).
    pub fn payload_too_big(message: impl Into<String>) -> Self {
        StreamError::new(StreamCode::PayloadTooBig, message)
    }

    /// A Stream method this server does not implement (code 4, HTTP 501).
    pub fn not_supported(method: &str) -> Self {
        StreamError {
            status: 501,
            ..StreamError::input(format!(
                "{method} is not supported by this server (see the README's Stream compatibility table)"
            ))
        }
    }

    /// Rewords the message the way Stream does: `<Method> failed with error: "<message>"`.
    pub fn with_method(mut self, method: &str) -> Self {
        self.message = format!("{method} failed with error: \"{}\"", self.message);
        self
    }

    /// The JSON body of the error answer; `duration` is the handling time as text.
    pub fn body(&self, duration: &str) -> Value {
        let mut body = json!({
            "code": self.code.code(),
            "message": self.message,
            "StatusCode": self.status,
            "duration": duration,
            "more_info": MORE_INFO,
            "details": [],
        });
        if !self.exception_fields.is_empty() {
            body["exception_fields"] = json!(self.exception_fields);
        }
        body
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_have_stream_numbers() {
        assert_eq!(StreamCode::InternalSystemError.code(), -1);
        assert_eq!(StreamCode::InputError.code(), 4);
        assert_eq!(StreamCode::DoesNotExist.code(), 16);
        assert_eq!(StreamCode::TokenExpired.code(), 40);
        assert_eq!(StreamCode::ConnectionIdNotFound.code(), 46);
        assert_eq!(StreamCode::AppSuspended.code(), 99);
        for c in StreamCode::ALL {
            assert_eq!(StreamCode::from_code(c.code()), Some(c));
        }
        assert_eq!(StreamCode::from_code(45), None);
        let mut numbers: Vec<i32> = StreamCode::ALL.iter().map(|c| c.code()).collect();
        numbers.dedup();
        assert_eq!(numbers.len(), StreamCode::ALL.len());
        assert!(numbers.windows(2).all(|w| w[0] < w[1]));
    }

    #[test]
    fn constructors_pick_code_and_status() {
        let cases = [
            (StreamError::input("x"), 4, 400),
            (StreamError::not_found("x"), 16, 404),
            (StreamError::not_allowed("x"), 17, 403),
            (StreamError::auth(StreamCode::TokenExpired, "x"), 40, 401),
            (
                StreamError::auth(StreamCode::AuthenticationFailed, "x"),
                3,
                401,
            ),
            (StreamError::rate_limit("x"), 9, 429),
            (StreamError::internal("x"), -1, 500),
            (StreamError::payload_too_big("x"), 22, 413),
            (StreamError::not_supported("QueryThreads"), 4, 501),
        ];
        for (err, code, status) in cases {
            assert_eq!((err.code.code(), err.status), (code, status), "{err}");
        }
    }

    #[test]
    fn body_has_exactly_the_six_keys() {
        let body = StreamError::not_found("channel messaging:x does not exist").body("0.10ms");
        let keys: Vec<&str> = body
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        assert_eq!(
            keys,
            [
                "StatusCode",
                "code",
                "details",
                "duration",
                "message",
                "more_info"
            ]
        );
        assert_eq!(body["code"], 16);
        assert_eq!(body["StatusCode"], 404);
        assert_eq!(body["duration"], "0.10ms");
        assert_eq!(body["more_info"], MORE_INFO);
        assert_eq!(body["details"], json!([]));
        assert_eq!(body["message"], "channel messaging:x does not exist");
    }

    #[test]
    fn exception_fields_only_when_present() {
        let body = StreamError::input_field("user.id", "is required").body("1ms");
        assert_eq!(body["exception_fields"], json!({"user.id": "is required"}));
        assert_eq!(body["message"], "user.id: is required");
        assert_eq!(body["code"], 4);
        assert!(StreamError::input("x")
            .body("1ms")
            .get("exception_fields")
            .is_none());
    }

    #[test]
    fn with_method_prefixes_like_stream() {
        let err =
            StreamError::not_found("channel does not exist").with_method("GetOrCreateChannel");
        assert_eq!(
            err.message,
            "GetOrCreateChannel failed with error: \"channel does not exist\""
        );
        assert_eq!(err.code, StreamCode::DoesNotExist);
    }

    #[test]
    fn not_supported_names_the_method() {
        let err = StreamError::not_supported("QueryThreads");
        assert!(err
            .message
            .starts_with("QueryThreads is not supported by this server"));
        assert_eq!(err.body("1ms")["StatusCode"], 501);
    }
}
