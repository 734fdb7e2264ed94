//! The REST error policy: every failure is `{"error": {"code", "message", "field"?, "reason"?}}`
//! with the status its code names (the message in English, the reason as a code and its
//! parameters). Extractor rejections (bad JSON, bad query) become 400s in the same shape.

use app::error::{AppError, ErrorCode};
use app::usecases::Input;
use axum::Json;
use axum::extract::rejection::{BytesRejection, JsonRejection, QueryRejection};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

use crate::store::StoreError;

#[derive(Debug)]
pub struct ApiError(pub AppError);

pub type ApiResult<T> = Result<T, ApiError>;

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = StatusCode::from_u16(self.0.code.http_status())
            .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let mut error = json!({ "code": self.0.code, "message": self.0.message });
        if let Some(field) = &self.0.field {
            error["field"] = json!(field);
        }
        if let Some(reason) = &self.0.reason {
            error["reason"] = json!(reason);
        }
        let body = json!({ "error": error });
        (status, Json(body)).into_response()
    }
}

impl From<AppError> for ApiError {
    fn from(e: AppError) -> Self {
        ApiError(e)
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        ApiError(e.into())
    }
}

impl From<JsonRejection> for ApiError {
    fn from(e: JsonRejection) -> Self {
        ApiError(body_refusal(e.status(), &e.body_text()))
    }
}

impl From<BytesRejection> for ApiError {
    fn from(e: BytesRejection) -> Self {
        ApiError(body_refusal(e.status(), &e.body_text()))
    }
}

/// A body that could not be read: too large (413), or not what the route takes (400).
fn body_refusal(status: StatusCode, text: &str) -> AppError {
    if status == StatusCode::PAYLOAD_TOO_LARGE {
        too_large()
    } else {
        AppError::bad_request(format!("invalid JSON body: {text}"))
    }
}

/// The refusal of a body larger than [`MAX_BODY`].
pub fn too_large() -> AppError {
    AppError::new(
        ErrorCode::PayloadTooLarge,
        format!("the request body is larger than {} MiB", MAX_BODY >> 20),
    )
}

/// The largest request body the server reads, on every route.
pub const MAX_BODY: usize = 2 << 20;

/// A JSON body as a service takes it: the value, or why it could not be read. The service
/// decides who is asking before it looks at it.
pub fn input<T>(body: Result<Json<T>, JsonRejection>) -> Input<T> {
    body.map(|Json(value)| value).map_err(|e| ApiError::from(e).0)
}

/// A JSON body read as JSON first, then as a `what` (`"node"`, `"calendar"`, ...), so a
/// malformed body and a wrong field are both 400s that say what is wrong.
pub fn json_body<T: DeserializeOwned>(
    body: Result<Json<Value>, JsonRejection>,
    what: &str,
) -> Input<T> {
    serde_json::from_value(input(body)?)
        .map_err(|e| AppError::bad_request(format!("invalid {what}: {e}")))
}

impl From<QueryRejection> for ApiError {
    fn from(e: QueryRejection) -> Self {
        ApiError(AppError::bad_request(format!("invalid query: {}", e.body_text())))
    }
}
