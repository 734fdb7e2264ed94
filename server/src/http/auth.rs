//! Who is asking, decided once per request before any route runs: an `Authorization: Bearer`
//! API token or the session cookie becomes an [`Identity`] in the request's extensions. The same
//! layer refuses what needs no route to refuse: a state-changing request of a cookie session
//! without its CSRF token (403), a cross-site login (403), an anonymous API or server-function
//! call (401), and an anonymous page view (a redirect to the login page).

use std::net::SocketAddr;

use app::error::AppError;
use app::people::CSRF_HEADER;
use axum::extract::{ConnectInfo, FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};
use server_fn::ServerFn;

use super::error::ApiError;
use crate::auth::{Auth, Identity, not_signed_in, secrets};

/// The session cookie's name.
pub const SESSION_COOKIE: &str = "nightshift_session";

/// Which part of the site a path belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Area {
    /// The WASM bundle, CSS, icons: public.
    Static,
    /// `/api/v1/health`, `/api/v1/openapi.json`, `/api/v1/login`: public.
    PublicApi,
    Api,
    /// Server functions (`/rpc/...`).
    Rpc,
    /// The login page and its form: public.
    Login,
    /// The logout form (checks its CSRF field itself).
    Logout,
    /// The language switch's form: public (the login page has it), checks its CSRF field itself.
    Language,
    /// `GET /metrics`: decides itself (`--metrics-public`); refusals in the REST shape.
    Metrics,
    Page,
}

fn area(path: &str) -> Area {
    match path {
        "/api/v1/health" | "/api/v1/openapi.json" | "/api/v1/login" => Area::PublicApi,
        "/login" => Area::Login,
        "/logout" => Area::Logout,
        "/language" => Area::Language,
        "/metrics" => Area::Metrics,
        "/favicon.ico" => Area::Static,
        _ if path.starts_with("/pkg/") => Area::Static,
        _ if path.starts_with("/api/") => Area::Api,
        _ if path.starts_with("/rpc/") => Area::Rpc,
        _ => Area::Page,
    }
}

/// Server functions anyone may call: what the login page needs.
fn public_server_fn(path: &str) -> bool {
    path == <app::api::FetchLoginHints as ServerFn>::PATH
}

fn changes_state(method: &Method) -> bool {
    !matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS)
}

/// The value of one cookie of the request.
pub fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

/// `Set-Cookie` for a new session: HttpOnly (no script reads it), SameSite=Lax (no cross-site
/// POST carries it), for the session's whole life.
pub fn session_cookie(value: &str, max_age_secs: i64, secure: bool) -> HeaderValue {
    let secure = if secure { "; Secure" } else { "" };
    HeaderValue::from_str(&format!(
        "{SESSION_COOKIE}={value}; Path=/; HttpOnly; SameSite=Lax; Max-Age={max_age_secs}{secure}"
    ))
    .expect("hex digits and ASCII")
}

pub fn clear_session_cookie(secure: bool) -> HeaderValue {
    session_cookie("", 0, secure)
}

/// Whether a request comes from a page of this very site: its `Origin` (sent by browsers on
/// every cross-origin and every POST request) names the host it was sent to. Scripts that send
/// no `Origin` are not browsers and carry no ambient cookies to abuse.
pub fn same_origin(headers: &HeaderMap) -> bool {
    let Some(origin) = headers.get(header::ORIGIN).and_then(|o| o.to_str().ok()) else {
        return true;
    };
    let host = headers.get(header::HOST).and_then(|h| h.to_str().ok()).unwrap_or_default();
    let without_scheme = origin.split_once("://").map_or(origin, |(_, rest)| rest);
    !host.is_empty() && without_scheme == host
}

/// The address a request came from (for the login throttle), when the server knows it.
pub struct PeerAddress(pub Option<String>);

impl<S: Send + Sync> FromRequestParts<S> for PeerAddress {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        let address = parts.extensions.get::<ConnectInfo<SocketAddr>>();
        Ok(PeerAddress(address.map(|ConnectInfo(addr)| addr.ip().to_string())))
    }
}

enum Refused {
    /// 401: no valid credentials where they are needed.
    Unauthorized(AppError),
    /// 403: a forged-looking request.
    Forbidden(AppError),
    Internal(AppError),
}

async fn identify(auth: &Auth, headers: &HeaderMap) -> Result<Identity, Refused> {
    if let Some(value) = headers.get(header::AUTHORIZATION) {
        let token = value.to_str().ok().and_then(|v| v.strip_prefix("Bearer ")).map(str::trim);
        let Some(token) = token else {
            return Err(Refused::Unauthorized(AppError::unauthorized(
                "the Authorization header must be 'Bearer <API token>'",
            )));
        };
        return match auth.token(token).await {
            Ok(Some(identity)) => Ok(identity),
            Ok(None) => Err(Refused::Unauthorized(AppError::unauthorized(
                "the API token is not valid (unknown, revoked or expired)",
            ))),
            Err(e) => Err(Refused::Internal(e)),
        };
    }
    match cookie(headers, SESSION_COOKIE).filter(|c| !c.is_empty()) {
        Some(value) => auth.session(value).await.map_err(Refused::Internal),
        None => Ok(Identity::Anonymous),
    }
}

/// A refusal in the shape the area's callers read: REST errors for the API, the server
/// functions' own error encoding for `/rpc`, a redirect to the login page for pages.
fn refuse(area: Area, path_and_query: &str, refused: Refused) -> Response {
    let error = match refused {
        Refused::Unauthorized(e) | Refused::Forbidden(e) | Refused::Internal(e) => e,
    };
    match area {
        Area::Rpc => {
            let status = StatusCode::from_u16(error.code.http_status())
                .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            let body = serde_json::to_string(&error).expect("an error serializes");
            (status, [(header::CONTENT_TYPE, "application/json")], body).into_response()
        }
        Area::Page | Area::Logout if error.code == app::error::ErrorCode::Unauthorized => {
            login_redirect(path_and_query).into_response()
        }
        _ => ApiError(error).into_response(),
    }
}

/// Where the login page sends someone back to.
pub fn login_redirect(path_and_query: &str) -> Redirect {
    if path_and_query == "/" || path_and_query.is_empty() {
        Redirect::to("/login")
    } else {
        Redirect::to(&format!("/login?next={}", app::model::url_encode(path_and_query)))
    }
}

/// The middleware. Every route below it finds an [`Identity`] in the request's extensions.
pub async fn authenticate(State(auth): State<Auth>, mut request: Request, next: Next) -> Response {
    let path = request.uri().path().to_string();
    let area = area(&path);
    if area == Area::Static {
        return next.run(request).await;
    }
    let path_and_query = request.uri().path_and_query().map_or(path.clone(), |p| p.to_string());
    let identity = match identify(&auth, request.headers()).await {
        Ok(identity) => identity,
        Err(refused) => return refuse(area, &path_and_query, refused),
    };
    if changes_state(request.method()) {
        match (&identity, area) {
            (Identity::Session { csrf_token, .. }, Area::Api | Area::Rpc | Area::Page) => {
                let sent = request.headers().get(CSRF_HEADER).and_then(|v| v.to_str().ok());
                if !sent.is_some_and(|sent| secrets::same_secret(sent, csrf_token)) {
                    let error = AppError::forbidden(format!(
                        "this request changes something but lacks the session's CSRF token \
                         (send it in the {CSRF_HEADER} header; GET /api/v1/me tells it)"
                    ));
                    return refuse(area, &path_and_query, Refused::Forbidden(error));
                }
            }
            (_, Area::PublicApi | Area::Login | Area::Language)
                if !same_origin(request.headers()) =>
            {
                let error = AppError::forbidden("a login from another site is refused");
                return refuse(area, &path_and_query, Refused::Forbidden(error));
            }
            _ => {}
        }
    }
    if identity == Identity::Anonymous {
        let needs_someone = match area {
            Area::Api | Area::Page | Area::Logout => true,
            Area::Rpc => !public_server_fn(&path),
            _ => false,
        };
        if needs_someone {
            return refuse(area, &path_and_query, Refused::Unauthorized(not_signed_in()));
        }
    }
    request.extensions_mut().insert(identity);
    next.run(request).await
}

/// The identity of the request (anonymous where the middleware let that through).
pub struct CurrentIdentity(pub Identity);

impl<S: Send + Sync> FromRequestParts<S> for CurrentIdentity {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, ApiError> {
        Ok(CurrentIdentity(
            parts.extensions.get::<Identity>().cloned().unwrap_or(Identity::Anonymous),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_fall_into_their_areas() {
        for (path, expected) in [
            ("/pkg/nightshift.js", Area::Static),
            ("/api/v1/health", Area::PublicApi),
            ("/api/v1/login", Area::PublicApi),
            ("/api/v1/logout", Area::Api),
            ("/api/v1/instances", Area::Api),
            ("/rpc/whoami123", Area::Rpc),
            ("/login", Area::Login),
            ("/logout", Area::Logout),
            ("/language", Area::Language),
            ("/metrics", Area::Metrics),
            ("/", Area::Page),
            ("/cycle", Area::Page),
            ("/loginx", Area::Page),
        ] {
            assert_eq!(area(path), expected, "{path}");
        }
    }

    #[test]
    fn cookies_are_read_and_written() {
        let mut headers = HeaderMap::new();
        headers
            .insert(header::COOKIE, HeaderValue::from_static("a=1; nightshift_session=abc; b=2"));
        assert_eq!(cookie(&headers, SESSION_COOKIE), Some("abc"));
        assert_eq!(cookie(&headers, "c"), None);
        let set = session_cookie("abc", 60, false);
        assert_eq!(set, "nightshift_session=abc; Path=/; HttpOnly; SameSite=Lax; Max-Age=60");
        assert!(session_cookie("abc", 60, true).to_str().unwrap().ends_with("; Secure"));
    }

    #[test]
    fn only_this_site_may_post_a_login() {
        let headers = |origin: Option<&'static str>| {
            let mut h = HeaderMap::new();
            h.insert(header::HOST, HeaderValue::from_static("127.0.0.1:3000"));
            if let Some(origin) = origin {
                h.insert(header::ORIGIN, HeaderValue::from_static(origin));
            }
            h
        };
        assert!(same_origin(&headers(None)));
        assert!(same_origin(&headers(Some("http://127.0.0.1:3000"))));
        assert!(!same_origin(&headers(Some("http://evil.example"))));
        assert!(!same_origin(&headers(Some("http://127.0.0.1:3001"))));
        assert!(!same_origin(&headers(Some("null"))));
    }
}
