//! The language of the UI, chosen once per request before the page renders: the `?lang=` of the
//! URL, else this browser's choice (the `nightshift_lang` cookie), else the signed-in person's
//! saved choice, else the browser's `Accept-Language`, else English. The choice goes into the
//! request's extensions, where the page (`app::lang`) finds it. A choice made with `?lang=` or
//! with the header's switch (`POST /language`) is remembered in the browser and, for someone
//! signed in, in their account; signing in carries the browser's choice into the account, or
//! the account's into a browser that has none.

use app::lang::{self, Locale};
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};
use axum::{Form, extract::rejection::FormRejection};
use serde::Deserialize;

use super::auth::{CurrentIdentity, cookie, same_origin};
use crate::auth::{Auth, Identity, secrets};

/// A year: the choice outlives sessions.
const REMEMBER_SECS: i64 = 365 * 24 * 3600;

/// `Set-Cookie` for the browser's choice.
pub fn language_cookie(locale: Locale, secure: bool) -> HeaderValue {
    let secure = if secure { "; Secure" } else { "" };
    HeaderValue::from_str(&format!(
        "{}={}; Path=/; HttpOnly; SameSite=Lax; Max-Age={REMEMBER_SECS}{secure}",
        lang::COOKIE,
        lang::tag(locale)
    ))
    .expect("ASCII")
}

/// The browser's own choice, if it made one.
pub fn browser_choice(headers: &HeaderMap) -> Option<Locale> {
    cookie(headers, lang::COOKIE).and_then(lang::from_tag)
}

/// The `lang` of a query string, if it names one of our languages.
fn query_choice(query: Option<&str>) -> Option<Locale> {
    query?
        .split('&')
        .filter_map(|pair| pair.split_once('='))
        .find(|(key, _)| *key == "lang")
        .and_then(|(_, value)| lang::from_tag(value))
}

/// What the request's person chose for their account (signed in with a session).
fn account_choice(identity: Option<&Identity>) -> Option<Locale> {
    match identity {
        Some(Identity::Session { language, .. }) => *language,
        _ => None,
    }
}

/// The language of a request, by the rule of this module.
pub fn choose(headers: &HeaderMap, query: Option<&str>, identity: Option<&Identity>) -> Locale {
    query_choice(query)
        .or_else(|| browser_choice(headers))
        .or_else(|| account_choice(identity))
        .or_else(|| {
            headers
                .get(header::ACCEPT_LANGUAGE)
                .and_then(|v| v.to_str().ok())
                .and_then(lang::from_accept_language)
        })
        .unwrap_or_default()
}

/// The middleware (below authentication, so it knows who asks).
pub async fn language(State(auth): State<Auth>, mut request: Request, next: Next) -> Response {
    let identity = request.extensions().get::<Identity>();
    let asked = query_choice(request.uri().query());
    let locale = choose(request.headers(), request.uri().query(), identity);
    let remember = asked.and_then(|asked| {
        let in_browser = browser_choice(request.headers()) != Some(asked);
        let for_account = match identity {
            Some(Identity::Session { user_id, language, .. }) if *language != Some(asked) => {
                Some(*user_id)
            }
            _ => None,
        };
        (in_browser || for_account.is_some()).then_some((asked, in_browser, for_account))
    });
    request.extensions_mut().insert(locale);
    let mut response = next.run(request).await;
    if let Some((asked, in_browser, for_account)) = remember {
        if in_browser {
            let cookie = language_cookie(asked, auth.config().secure_cookies);
            response.headers_mut().append(header::SET_COOKIE, cookie);
        }
        if let Some(user_id) = for_account
            && let Err(e) = auth.remember_language(user_id, asked).await
        {
            tracing::error!(error = %e.message, "could not save the language choice");
        }
    }
    response
}

/// The switch's fields.
#[derive(Deserialize)]
pub struct LanguageForm {
    #[serde(default)]
    lang: String,
    #[serde(default)]
    back: String,
    #[serde(default)]
    csrf_token: String,
}

/// `POST /language` from the header's switch: remembers the choice and goes back to the page.
pub async fn switch_form(
    State(auth): State<Auth>,
    identity: CurrentIdentity,
    headers: HeaderMap,
    form: Result<Form<LanguageForm>, FormRejection>,
) -> Response {
    let Ok(Form(form)) = form else {
        return (StatusCode::BAD_REQUEST, "the language form could not be read").into_response();
    };
    let Some(locale) = lang::from_tag(&form.lang) else {
        return (StatusCode::BAD_REQUEST, "lang must be zh-CN or en").into_response();
    };
    if !same_origin(&headers) {
        return (StatusCode::FORBIDDEN, "this choice did not come from Nightshift's page")
            .into_response();
    }
    if let Identity::Session { csrf_token, user_id, .. } = &identity.0 {
        if !secrets::same_secret(&form.csrf_token, csrf_token) {
            return (StatusCode::FORBIDDEN, "this choice did not come from Nightshift's page")
                .into_response();
        }
        if let Err(e) = auth.remember_language(*user_id, locale).await {
            tracing::error!(error = %e.message, "could not save the language choice");
        }
    }
    let back = super::redirect::safe_next(&form.back);
    let cookie = language_cookie(locale, auth.config().secure_cookies);
    ([(header::SET_COOKIE, cookie)], Redirect::to(back)).into_response()
}

/// What signing in does with the language: the browser's choice becomes the account's, or the
/// account's is remembered in a browser that has none.
pub async fn on_sign_in(
    auth: &Auth,
    headers: &HeaderMap,
    user_id: i64,
    saved: Option<&str>,
) -> Option<HeaderValue> {
    let saved = saved.and_then(lang::from_tag);
    match (browser_choice(headers), saved) {
        (Some(chosen), saved) if saved != Some(chosen) => {
            if let Err(e) = auth.remember_language(user_id, chosen).await {
                tracing::error!(error = %e.message, "could not save the language choice");
            }
            None
        }
        (None, Some(saved)) => Some(language_cookie(saved, auth.config().secure_cookies)),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(header::HeaderName, &str)]) -> HeaderMap {
        let mut headers = HeaderMap::new();
        for (name, value) in pairs {
            headers.append(name.clone(), HeaderValue::from_str(value).unwrap());
        }
        headers
    }

    fn session(language: Option<Locale>) -> Identity {
        Identity::Session {
            actor: app::people::Actor { name: "ann".into(), role: app::people::Role::Admin },
            user_id: 1,
            csrf_token: "t".into(),
            token_hash: "h".into(),
            language,
        }
    }

    /// The rule, as a table: query, cookie, account, Accept-Language → the language.
    #[test]
    fn the_language_follows_the_query_then_the_browser_then_the_account_then_the_header() {
        use Locale::{en, zh_CN};
        for (query, cookie, account, accept, expected) in [
            (None, None, None, None, en),
            (None, None, None, Some("zh-CN,zh;q=0.9"), zh_CN),
            (None, None, Some(zh_CN), Some("en-US"), zh_CN),
            (None, Some("en"), Some(zh_CN), Some("zh-CN"), en),
            (Some("lang=zh-CN"), Some("en"), Some(en), Some("en"), zh_CN),
            (Some("state=any&lang=en"), Some("zh-CN"), None, None, en),
            (Some("lang=fr"), Some("zh-CN"), None, None, zh_CN),
            (Some("lang="), None, None, Some("fr, zh;q=0.5"), zh_CN),
            (None, Some("klingon"), None, Some("en"), en),
        ] {
            let mut pairs = Vec::new();
            if let Some(cookie) = cookie {
                pairs.push((header::COOKIE, format!("a=b; {}={cookie}", lang::COOKIE)));
            }
            if let Some(accept) = accept {
                pairs.push((header::ACCEPT_LANGUAGE, accept.to_string()));
            }
            let pairs: Vec<_> = pairs.iter().map(|(n, v)| (n.clone(), v.as_str())).collect();
            let identity = session(account);
            let chosen = choose(&headers(&pairs), query, Some(&identity));
            assert_eq!(chosen, expected, "{query:?} {cookie:?} {account:?} {accept:?}");
        }
    }

    #[test]
    fn the_cookie_is_for_the_whole_site_for_a_year() {
        let set = language_cookie(Locale::zh_CN, true);
        let set = set.to_str().unwrap();
        assert!(set.starts_with("nightshift_lang=zh-CN; Path=/;"), "{set}");
        assert!(set.contains("Max-Age=31536000") && set.ends_with("; Secure"), "{set}");
    }
}
