//! The login page: a plain HTML form posted to `/login` (it works before the page has
//! hydrated, and without JavaScript), the reason of a refusal, and what a newcomer needs: the
//! demo accounts with `--demo`, or how to make the first account.

use leptos::either::Either;
use leptos::prelude::*;
use leptos_router::hooks::use_query_map;

use crate::api::fetch_login_hints;
use crate::components::context::Ui;
use crate::people::{DEMO_ACCOUNTS, LoginHints};

#[component]
pub fn LoginPage() -> impl IntoView {
    let ui = Ui::get();
    let query = use_query_map();
    let param = move |key: &str| query.with(|q| q.get(key).unwrap_or_default());
    let next = param("next");
    let next = if next.starts_with('/') && !next.starts_with("//") { next } else { "/".into() };
    let hints = Resource::new(|| (), |_| fetch_login_hints());
    view! {
        <section class="login-page">
            <form class="card login" method="post" action="/login">
                <h1>"Sign in to Nightshift"</h1>
                {move || {
                    let error = param("error");
                    (!error.is_empty()).then(|| view! { <p class="error" role="alert">{error}</p> })
                }}
                {move || ui.actor().map(|actor| view! {
                    <p class="muted">"You are signed in as "<strong>{actor.name}</strong>". Signing in again replaces that session."</p>
                })}
                <label for="login-username">"User name"</label>
                <input id="login-username" name="username" autocomplete="username" required=true autofocus=true value=param("user")/>
                <label for="login-password">"Password"</label>
                <input id="login-password" name="password" type="password" autocomplete="current-password" required=true/>
                <input type="hidden" name="next" value=next/>
                <button type="submit" class="primary">"Sign in"</button>
            </form>
            <Suspense fallback=|| ()>
                {move || Suspend::new(async move {
                    let hints = hints.await.unwrap_or_default();
                    hint_box(hints)
                })}
            </Suspense>
        </section>
    }
}

fn hint_box(hints: LoginHints) -> Option<impl IntoView> {
    if hints.demo {
        return Some(Either::Left(view! {
            <div class="card login-hints">
                <h2>"Demo accounts"</h2>
                <table class="compact">
                    <thead><tr><th>"User name"</th><th>"Password"</th><th>"Role"</th><th></th></tr></thead>
                    <tbody>
                        {DEMO_ACCOUNTS.iter().map(|(name, password, role, what)| view! {
                            <tr>
                                <td class="mono">{*name}</td>
                                <td class="mono">{*password}</td>
                                <td>{role.as_str()}</td>
                                <td class="muted">{*what}</td>
                            </tr>
                        }).collect_view()}
                    </tbody>
                </table>
                <p class="muted">"They exist only because the server was started with --demo."</p>
            </div>
        }));
    }
    hints.no_accounts.then(|| {
        Either::Right(view! {
            <div class="card login-hints">
                <h2>"No account exists yet"</h2>
                <p>"Create the first administrator on the server's machine:"</p>
                <pre class="command">"nightshift user add --name NAME --role admin"</pre>
                <p class="muted">"It asks for the password (or reads NIGHTSHIFT_PASSWORD)."</p>
            </div>
        })
    })
}
