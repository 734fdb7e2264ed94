//! People over HTTP: `/api/v1/login`, `/logout`, `/me`, `/tokens`, `/users` (JSON), and the login
//! and logout forms of the web UI (`POST /login`, `POST /logout`), which work before the page has
//! hydrated.

use app::error::ErrorCode;
use app::people::{LoginRequest, Me, NewToken, NewUser, UserChange, UserPage, UserQuery};
use app::reason::Reason;
use app::usecases::People;
use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{delete, get, post, put};
use axum::{Form, Json, Router};
use serde::Deserialize;
use serde_json::{Value, json};

use super::auth::{CurrentIdentity, PeerAddress, clear_session_cookie, session_cookie};
use super::error::{ApiResult, input};
use crate::auth::{Auth, Identity, NewSession};
use crate::service::{Core, Service, parse_id};

pub fn routes() -> Router<Core> {
    Router::new()
        .route("/login", post(login))
        .route("/logout", post(logout))
        .route("/me", get(me))
        .route("/tokens", get(list_tokens).post(create_token))
        .route("/tokens/{id}", delete(revoke_token))
        .route("/users", get(list_users).post(add_user))
        .route("/users/{name}", put(change_user))
}

/// The new session's cookie; it lives as long as the session may (the server ends it sooner
/// when it idles).
fn cookie_header(auth: &Auth, session: &NewSession) -> (header::HeaderName, header::HeaderValue) {
    let max_age = auth.config().session_max.num_seconds();
    (header::SET_COOKIE, session_cookie(&session.cookie, max_age, auth.config().secure_cookies))
}

async fn login(
    State(Core { auth, .. }): State<Core>,
    PeerAddress(address): PeerAddress,
    body: Result<Json<LoginRequest>, JsonRejection>,
) -> ApiResult<Response> {
    let body = body?.0;
    let session = auth.login(&body.username, &body.password, address.as_deref()).await?;
    let me = Me {
        name: session.actor.name.clone(),
        role: session.actor.role,
        csrf_token: Some(session.csrf_token.clone()),
    };
    Ok(([cookie_header(&auth, &session)], Json(me)).into_response())
}

async fn logout(
    State(Core { auth, .. }): State<Core>,
    identity: CurrentIdentity,
) -> ApiResult<Response> {
    identity.0.require()?;
    auth.logout(&identity.0).await?;
    let clear = clear_session_cookie(auth.config().secure_cookies);
    Ok((StatusCode::NO_CONTENT, [(header::SET_COOKIE, clear)]).into_response())
}

async fn me(service: Service) -> ApiResult<Json<Me>> {
    Ok(Json(service.me()?))
}

async fn list_tokens(service: Service) -> ApiResult<Json<Value>> {
    Ok(Json(json!({ "items": service.tokens().await? })))
}

async fn create_token(
    service: Service,
    body: Result<Json<NewToken>, JsonRejection>,
) -> ApiResult<Response> {
    let created = service.create_token(body?.0).await?;
    Ok((StatusCode::CREATED, Json(created)).into_response())
}

async fn revoke_token(service: Service, Path(id): Path<String>) -> ApiResult<StatusCode> {
    service.revoke_token(parse_id("a token id", &id)?).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn list_users(
    service: Service,
    query: Result<Query<UserQuery>, QueryRejection>,
) -> ApiResult<Json<UserPage>> {
    Ok(Json(service.users(query?.0).await?))
}

async fn add_user(
    service: Service,
    body: Result<Json<NewUser>, JsonRejection>,
) -> ApiResult<Response> {
    let user = service.add_user(input(body)).await?;
    Ok((StatusCode::CREATED, Json(user)).into_response())
}

async fn change_user(
    service: Service,
    Path(name): Path<String>,
    body: Result<Json<UserChange>, JsonRejection>,
) -> ApiResult<Json<app::people::User>> {
    Ok(Json(service.change_user(name, input(body)).await?))
}

/// The login form's fields.
#[derive(Deserialize)]
pub struct LoginForm {
    username: String,
    password: String,
    #[serde(default)]
    next: String,
}

/// `POST /login` from the login page: a session cookie and back to where the person wanted to
/// go, or back to the form with the reason.
pub async fn login_form(
    State(auth): State<Auth>,
    PeerAddress(address): PeerAddress,
    headers: HeaderMap,
    form: Result<Form<LoginForm>, axum::extract::rejection::FormRejection>,
) -> Response {
    let Ok(Form(form)) = form else {
        return Redirect::to("/login?error=fill_in").into_response();
    };
    let next = super::redirect::safe_next(&form.next).to_string();
    match auth.login(&form.username, &form.password, address.as_deref()).await {
        Ok(session) => {
            let language = super::language::on_sign_in(
                &auth,
                &headers,
                session.user_id,
                session.language.as_deref(),
            )
            .await;
            let mut response =
                ([cookie_header(&auth, &session)], Redirect::to(&next)).into_response();
            if let Some(language) = language {
                response.headers_mut().append(header::SET_COOKIE, language);
            }
            response
        }
        Err(error) => {
            if error.code == ErrorCode::Internal {
                tracing::error!(error = %error.message, "login failed");
            }
            // The page says it in its language: the reason's code, and how long to wait.
            let (code, seconds) = match error.reason.as_deref() {
                Some(Reason::WrongPassword) => ("wrong_password", String::new()),
                Some(&Reason::TooManyLogins { seconds }) => {
                    ("too_many_logins", format!("&seconds={seconds}"))
                }
                _ => ("internal", String::new()),
            };
            let to = format!(
                "/login?error={code}{seconds}&user={}&next={}",
                app::model::url_encode(&form.username),
                app::model::url_encode(&next)
            );
            Redirect::to(&to).into_response()
        }
    }
}

#[derive(Deserialize)]
pub struct LogoutForm {
    #[serde(default)]
    csrf_token: String,
}

/// `POST /logout` from the header's button: ends the session if the form carries its CSRF
/// token, and shows the login page.
pub async fn logout_form(
    State(auth): State<Auth>,
    identity: CurrentIdentity,
    headers: HeaderMap,
    Form(form): Form<LogoutForm>,
) -> Response {
    let clear = clear_session_cookie(auth.config().secure_cookies);
    if let Identity::Session { csrf_token, .. } = &identity.0 {
        if !crate::auth::secrets::same_secret(&form.csrf_token, csrf_token)
            || !super::auth::same_origin(&headers)
        {
            return (StatusCode::FORBIDDEN, "this sign-out did not come from Nightshift's page")
                .into_response();
        }
        if let Err(e) = auth.logout(&identity.0).await {
            tracing::error!(error = %e.message, "logout failed");
        }
    }
    ([(header::SET_COOKIE, clear)], Redirect::to("/login")).into_response()
}
