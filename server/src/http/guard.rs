//! What every request and answer goes through before and after the authentication layer: the
//! Host it names must be this server's (no DNS rebinding), its body is bounded (one limit, 413
//! everywhere), answers carry the security headers (no framing, no sniffing, no caching of
//! signed-in pages), and a server function's refusal keeps the status its error names.

use std::net::SocketAddr;
use std::sync::Arc;

use app::error::{AppError, ErrorCode};
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::error::{ApiError, MAX_BODY, too_large};

/// The host names this server answers to (compared without the port).
#[derive(Debug, Clone)]
pub struct AllowedHosts(Vec<String>);

impl AllowedHosts {
    /// `localhost`, the loopback addresses, the listen address unless it is a wildcard, and
    /// `extra` (`--allowed-hosts`).
    pub fn new(listen: SocketAddr, extra: &[String]) -> AllowedHosts {
        let mut names: Vec<String> =
            ["localhost", "127.0.0.1", "[::1]"].into_iter().map(String::from).collect();
        if !listen.ip().is_unspecified() {
            names.push(match listen {
                SocketAddr::V4(v4) => v4.ip().to_string(),
                SocketAddr::V6(v6) => format!("[{}]", v6.ip()),
            });
        }
        names.extend(extra.iter().map(|h| host_name(h).to_ascii_lowercase()));
        AllowedHosts(names)
    }

    fn allows(&self, host: &str) -> bool {
        let name = host_name(host).to_ascii_lowercase();
        self.0.contains(&name)
    }
}

/// `example.com:3000` → `example.com`, `[::1]:3000` → `[::1]`.
fn host_name(host: &str) -> &str {
    if host.starts_with('[') {
        return host.split_inclusive(']').next().unwrap_or(host);
    }
    host.split(':').next().unwrap_or(host)
}

/// Refuses a request for another host (421), and one whose declared body is too large (413);
/// bounds the body of the rest, whatever reads it.
pub async fn check_request(
    State(hosts): State<Arc<AllowedHosts>>,
    request: Request,
    next: Next,
) -> Response {
    let host = request.headers().get(header::HOST).and_then(|h| h.to_str().ok()).unwrap_or("");
    if !hosts.allows(host) {
        let error = AppError::new(
            ErrorCode::BadRequest,
            format!("this server does not answer for the host '{host}' (see --allowed-hosts)"),
        );
        let mut response = ApiError(error).into_response();
        *response.status_mut() = StatusCode::MISDIRECTED_REQUEST;
        return response;
    }
    let declared = request
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|length| length > MAX_BODY as u64) {
        return refusal_for(request.uri().path(), too_large());
    }
    let (parts, body) = request.into_parts();
    let body = Body::new(http_body_util::Limited::new(body, MAX_BODY));
    next.run(Request::from_parts(parts, body)).await
}

/// A refusal in the shape the caller reads: a server function's own error, or the REST one.
fn refusal_for(path: &str, error: AppError) -> Response {
    let status =
        StatusCode::from_u16(error.code.http_status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    if path.starts_with("/rpc/") {
        let body = serde_json::to_string(&error).expect("an error serializes");
        return (status, [(header::CONTENT_TYPE, "application/json")], body).into_response();
    }
    ApiError(error).into_response()
}

/// The policy of answers that set none: nothing may be loaded, framed or run.
const STRICT_POLICY: &str = "default-src 'none'; frame-ancestors 'none'";

/// The nonce of one answer: the page's inline scripts carry it (web.rs hands it to Leptos), and
/// its policy names it.
#[derive(Debug, Clone)]
pub struct PageNonce(pub String);

impl PageNonce {
    fn new() -> PageNonce {
        let mut bytes = [0u8; 16];
        getrandom::fill(&mut bytes).expect("the operating system's random source");
        PageNonce(hex::encode(bytes))
    }
}

/// A page's content security policy: its own scripts and WASM, and the inline scripts that
/// start it only with this answer's nonce; no framing.
fn page_policy(nonce: &PageNonce) -> Option<HeaderValue> {
    let policy = format!(
        "default-src 'self'; script-src 'self' 'nonce-{}' 'wasm-unsafe-eval'; \
         style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; \
         object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
        nonce.0
    );
    HeaderValue::from_str(&policy).ok()
}

/// Adds the security headers to every answer, and gives a server function's refusal the status
/// its error code names (the server function framework answers 500 for every error it makes
/// itself, such as arguments it could not read). The policy is decided here, for every answer
/// alike: an HTML page gets its nonce's, anything else the strict one.
pub async fn secure_response(mut request: Request, next: Next) -> Response {
    let path = request.uri().path().to_string();
    let nonce = PageNonce::new();
    request.extensions_mut().insert(nonce.clone());
    let mut response = next.run(request).await;
    if path.starts_with("/rpc/") && response.status() == StatusCode::INTERNAL_SERVER_ERROR {
        response = restatus(response).await;
    }
    let html = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|value| value.starts_with("text/html"));
    let headers = response.headers_mut();
    if html && let Some(policy) = page_policy(&nonce) {
        headers.insert(header::CONTENT_SECURITY_POLICY, policy);
    }
    let mut set = |name: header::HeaderName, value: &'static str| {
        headers.entry(name).or_insert(HeaderValue::from_static(value));
    };
    set(header::CONTENT_SECURITY_POLICY, STRICT_POLICY);
    set(header::X_FRAME_OPTIONS, "DENY");
    set(header::X_CONTENT_TYPE_OPTIONS, "nosniff");
    set(header::REFERRER_POLICY, "same-origin");
    // The bundle may be cached; everything else is somebody's data.
    if !path.starts_with("/pkg/") {
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    response
}

/// A server function's 500 whose body is one of our errors with another code.
async fn restatus(response: Response) -> Response {
    let (mut parts, body) = response.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, 64 * 1024).await else {
        return (StatusCode::INTERNAL_SERVER_ERROR, "").into_response();
    };
    if let Ok(error) = serde_json::from_slice::<AppError>(&bytes)
        && let Ok(status) = StatusCode::from_u16(error.code.http_status())
    {
        parts.status = status;
    }
    Response::from_parts(parts, Body::from(bytes))
}

/// Every JSON body the API takes is an object. Serde reads an array as a struct's fields in
/// order (`[]` as an empty batch request, `["n"]` as a token named n), so a body that is JSON
/// but not an object is replaced by the JSON string "the request body must be a JSON object":
/// its handler then refuses it with a 400 that says so ("invalid type: string …, expected …"),
/// in its own order (who may ask is still decided before the body is read). Text that is not
/// JSON, empty bodies (optional ones) and the TOML of `POST /import` pass as they are.
pub async fn json_objects_only(request: Request, next: Next) -> Response {
    let writes = matches!(request.method().as_str(), "POST" | "PUT" | "PATCH");
    if !writes || request.uri().path().ends_with("/import") {
        return next.run(request).await;
    }
    let (mut parts, body) = request.into_parts();
    let bytes = match axum::body::to_bytes(body, MAX_BODY).await {
        Ok(bytes) => bytes,
        Err(_) => return ApiError(too_large()).into_response(),
    };
    let first = bytes.iter().find(|b| !b.is_ascii_whitespace());
    let body = if first.is_some_and(|b| *b != b'{')
        && serde_json::from_slice::<serde::de::IgnoredAny>(&bytes).is_ok()
    {
        parts.headers.remove(header::CONTENT_LENGTH);
        Body::from(r#""the request body must be a JSON object""#)
    } else {
        Body::from(bytes)
    };
    next.run(Request::from_parts(parts, body)).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderMap;

    fn allowed(hosts: &AllowedHosts, headers: &HeaderMap) -> bool {
        hosts.allows(headers.get(header::HOST).and_then(|h| h.to_str().ok()).unwrap_or(""))
    }

    #[test]
    fn only_this_servers_names_are_answered() {
        let hosts = AllowedHosts::new("127.0.0.1:3000".parse().unwrap(), &["ops.example".into()]);
        for good in
            ["127.0.0.1:3000", "localhost", "LOCALHOST:3000", "[::1]:3000", "ops.example:443"]
        {
            let mut headers = HeaderMap::new();
            headers.insert(header::HOST, HeaderValue::from_str(good).unwrap());
            assert!(allowed(&hosts, &headers), "{good}");
        }
        for bad in ["evil.example", "evil.example:3000", "127.0.0.2:3000", ""] {
            let mut headers = HeaderMap::new();
            headers.insert(header::HOST, HeaderValue::from_str(bad).unwrap());
            assert!(!allowed(&hosts, &headers), "{bad}");
        }
        let wildcard = AllowedHosts::new("0.0.0.0:3000".parse().unwrap(), &[]);
        assert!(!wildcard.allows("0.0.0.0:3000"));
        assert!(wildcard.allows("localhost:3000"));
    }
}
