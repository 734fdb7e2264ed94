//! The one error type that crosses the wire: the REST API renders it as
//! `{"error": {"code", "message", "reason"}}` with the matching HTTP status, server functions
//! carry it to the browser unchanged. The `message` is English, stable for scripts; the
//! `reason` (what went wrong, as a code and its parameters) is what the UI shows, in the page's
//! language.

use serde::{Deserialize, Serialize};

use crate::i18n::Locale;
pub use crate::reason::Reason;

/// What kind of failure, which decides the HTTP status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    /// Malformed input: 400.
    BadRequest,
    /// Not logged in: 401.
    Unauthorized,
    /// Logged in, but the role does not allow it: 403.
    Forbidden,
    /// No such thing: 404.
    NotFound,
    /// Not allowed in the current state (an operation precondition), or a conflicting change: 409.
    Conflict,
    /// The request is larger than the server takes: 413.
    PayloadTooLarge,
    /// Too many attempts (failed logins): 429.
    TooManyRequests,
    /// Our fault: 500. The message never carries internals.
    Internal,
}

impl ErrorCode {
    pub fn http_status(self) -> u16 {
        match self {
            ErrorCode::BadRequest => 400,
            ErrorCode::Unauthorized => 401,
            ErrorCode::Forbidden => 403,
            ErrorCode::NotFound => 404,
            ErrorCode::Conflict => 409,
            ErrorCode::PayloadTooLarge => 413,
            ErrorCode::TooManyRequests => 429,
            ErrorCode::Internal => 500,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[error("{message}")]
pub struct AppError {
    pub code: ErrorCode,
    pub message: String,
    /// The input field the error is about, when there is one (forms show it there).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    /// What went wrong, as a code and its parameters (for scripts and the server; the browser
    /// does not read it back, see `shown`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(not(feature = "ssr"), serde(skip_deserializing))]
    pub reason: Option<Box<Reason>>,
    /// The reason in the language of the page that asked: a server function fills it in, so the
    /// browser needs no code to read reasons.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shown: Option<String>,
}

impl AppError {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        AppError { code, message: message.into(), field: None, reason: None, shown: None }
    }

    /// The error for a reason: its status, its English sentence, its field.
    pub fn because(reason: Reason) -> Self {
        AppError {
            code: reason.code(),
            message: reason.describe(Locale::en),
            field: reason.field().map(str::to_string),
            reason: Some(Box::new(reason)),
            shown: None,
        }
    }

    /// What the UI shows, in the page's language: the reason (or the server's words for it),
    /// otherwise the kind of failure and the server's English sentence.
    pub fn describe(&self, locale: Locale) -> String {
        match (&self.reason, &self.shown) {
            (Some(reason), _) => reason.describe(locale),
            (None, Some(shown)) => shown.clone(),
            (None, None) => crate::reason::unexplained(locale, self.code, &self.message),
        }
    }

    /// Says which input field is wrong.
    pub fn on_field(mut self, field: &str) -> Self {
        self.field = Some(field.to_string());
        self
    }
    pub fn bad_request(message: impl Into<String>) -> Self {
        AppError::new(ErrorCode::BadRequest, message)
    }
    pub fn not_found(message: impl Into<String>) -> Self {
        AppError::new(ErrorCode::NotFound, message)
    }
    pub fn conflict(message: impl Into<String>) -> Self {
        AppError::new(ErrorCode::Conflict, message)
    }
    pub fn forbidden(message: impl Into<String>) -> Self {
        AppError::new(ErrorCode::Forbidden, message)
    }
    pub fn unauthorized(message: impl Into<String>) -> Self {
        AppError::new(ErrorCode::Unauthorized, message)
    }
    pub fn internal(message: impl Into<String>) -> Self {
        AppError::new(ErrorCode::Internal, message)
    }
}

impl server_fn::error::FromServerFnError for AppError {
    type Encoder = server_fn::codec::JsonEncoding;

    /// A request the server function could not even read is the caller's mistake (400); the
    /// rest is a failure on the way (500, or in the browser: no answer).
    fn from_server_fn_error(value: server_fn::error::ServerFnErrorErr) -> Self {
        use server_fn::error::ServerFnErrorErr as E;
        match value {
            E::Args(message) | E::Deserialization(message) | E::MissingArg(message) => {
                AppError::bad_request(format!("the request could not be read: {message}"))
            }
            other => AppError::internal(format!("request failed: {other}")),
        }
    }
}
