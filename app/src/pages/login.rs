//! The login page: a plain HTML form posted to `/login` (it works before the page has
//! hydrated, and without JavaScript), the reason of a refusal, and what a newcomer needs: the
//! demo accounts with `--demo`, or how to make the first account.

use leptos::either::Either;
use leptos::prelude::*;
use leptos_router::hooks::use_query_map;

use crate::api::fetch_login_hints;
use crate::components::context::Ui;
use crate::i18n::{Locale, td_string};
use crate::lang::locale;
use crate::people::{DEMO_ACCOUNTS, LoginHints};
use crate::reason::Reason;

#[component]
pub fn LoginPage() -> impl IntoView {
    let l = locale();
    let ui = Ui::get();
    let query = use_query_map();
    let param = move |key: &str| query.with(|q| q.get(key).unwrap_or_default());
    let next = param("next");
    let next = if next.starts_with('/') && !next.starts_with("//") { next } else { "/".into() };
    let hints = Resource::new(|| (), |_| fetch_login_hints());
    view! {
        <section class="login-page">
            <form class="card login" method="post" action="/login">
                <h1>{td_string!(l, people.login.title)}</h1>
                {move || {
                    let error = param("error");
                    (!error.is_empty()).then(|| {
                        let text = login_error(l, &error, &param("seconds"));
                        view! { <p class="error" role="alert">{text}</p> }
                    })
                }}
                {move || ui.actor().map(|actor| view! {
                    <p class="muted">{td_string!(l, people.login.signed_in_before)}<strong>{actor.name}</strong>{td_string!(l, people.login.signed_in_after)}</p>
                })}
                <label for="login-username">{td_string!(l, people.field.user_name)}</label>
                <input id="login-username" name="username" autocomplete="username" required=true autofocus=true value=param("user")/>
                <label for="login-password">{td_string!(l, people.field.password)}</label>
                <input id="login-password" name="password" type="password" autocomplete="current-password" required=true/>
                <input type="hidden" name="next" value=next/>
                <button type="submit" class="primary">{td_string!(l, people.login.sign_in)}</button>
            </form>
            <Suspense fallback=|| ()>
                {move || Suspend::new(async move {
                    let hints = hints.await.unwrap_or_default();
                    hint_box(l, hints)
                })}
            </Suspense>
        </section>
    }
}

/// The reason of a refusal, which the server puts into the URL as a code (and the seconds to
/// wait, when there are some), in the page's language.
fn login_error(l: Locale, code: &str, seconds: &str) -> String {
    match code {
        "wrong_password" => Reason::WrongPassword.describe(l),
        "too_many_logins" => {
            Reason::TooManyLogins { seconds: seconds.parse().unwrap_or(1) }.describe(l)
        }
        "fill_in" => td_string!(l, people.login.error_fill_in).to_string(),
        _ => td_string!(l, errors.kind.internal).to_string(),
    }
}

/// What the login page says of a demo account, by its name; the English of `DEMO_ACCOUNTS`
/// for any other.
fn demo_words(l: Locale, name: &str, english: &'static str) -> &'static str {
    match name {
        "admin" => td_string!(l, people.login.demo.admin),
        "alice" => td_string!(l, people.login.demo.alice),
        "vera" => td_string!(l, people.login.demo.vera),
        _ => english,
    }
}

fn hint_box(l: Locale, hints: LoginHints) -> Option<impl IntoView> {
    if hints.demo {
        return Some(Either::Left(view! {
            <div class="card login-hints">
                <h2>{td_string!(l, people.login.demo_title)}</h2>
                <table class="compact">
                    <thead><tr><th>{td_string!(l, people.field.user_name)}</th><th>{td_string!(l, people.field.password)}</th><th>{td_string!(l, people.field.role)}</th><th></th></tr></thead>
                    <tbody>
                        {DEMO_ACCOUNTS.iter().map(move |(name, password, role, what)| view! {
                            <tr>
                                <td class="mono">{*name}</td>
                                <td class="mono">{*password}</td>
                                <td>{role.label(l)}</td>
                                <td class="muted">{demo_words(l, name, what)}</td>
                            </tr>
                        }).collect_view()}
                    </tbody>
                </table>
                <p class="muted">{td_string!(l, people.login.demo_only)}</p>
            </div>
        }));
    }
    hints.no_accounts.then(move || {
        Either::Right(view! {
            <div class="card login-hints">
                <h2>{td_string!(l, people.login.no_accounts_title)}</h2>
                <p>{td_string!(l, people.login.no_accounts_create)}</p>
                <pre class="command">"nightshift user add --name NAME --role admin"</pre>
                <p class="muted">{td_string!(l, people.login.no_accounts_password)}</p>
            </div>
        })
    })
}
