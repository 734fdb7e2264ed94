//! Your account: who you are and your role, a new password, and your API tokens for scripts
//! (made here, shown once, revoked here).

use leptos::either::Either;
use leptos::prelude::*;
use leptos::task::spawn_local;

use crate::api::{change_user, create_token, fetch_tokens, revoke_token};
use crate::components::context::Ui;
use crate::components::time::optional_time;
use crate::error::AppError;
use crate::people::{ApiToken, CreatedToken, NewToken, UserChange, check_password};

#[component]
pub fn AccountPage() -> impl IntoView {
    let ui = Ui::get();
    view! {
        <section class="page narrow">
            <div class="page-head"><h1>"Your account"</h1></div>
            <Transition fallback=|| view! { <p class="loading">"Loading…"</p> }>
                {move || ui.actor().map(|actor| view! {
                    <div class="card">
                        <dl class="properties">
                            <dt>"User name"</dt><dd class="mono">{actor.name.clone()}</dd>
                            <dt>"Role"</dt><dd>{role_words(actor.role)}</dd>
                        </dl>
                    </div>
                    <PasswordForm name=actor.name/>
                    <Tokens/>
                })}
            </Transition>
        </section>
    }
}

fn role_words(role: crate::people::Role) -> &'static str {
    match role {
        crate::people::Role::Admin => "administrator: everything, including batch kill and people",
        crate::people::Role::Developer => {
            "developer: operates, tests and backfills the nodes you own"
        }
        crate::people::Role::Viewer => "viewer: looks at everything, changes nothing",
    }
}

#[component]
fn PasswordForm(name: String) -> impl IntoView {
    let ui = Ui::get();
    let current = RwSignal::new(String::new());
    let password = RwSignal::new(String::new());
    let again = RwSignal::new(String::new());
    let error = RwSignal::new(None::<String>);
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let (first, second) = (password.get_untracked(), again.get_untracked());
        if first != second {
            return error.set(Some("the two passwords differ".into()));
        }
        if let Err(e) = check_password(&first) {
            return error.set(Some(e.message));
        }
        let name = name.clone();
        spawn_local(async move {
            let change = UserChange {
                password: Some(first),
                current_password: Some(current.get_untracked()),
                ..Default::default()
            };
            match change_user(name, change).await {
                Ok(_) => {
                    ui.toast("Password changed: sign in again with it", false);
                    // Every session of the account ended with the change, this one too.
                    #[cfg(feature = "hydrate")]
                    let _ = window().location().assign("/login");
                }
                Err(e) => error.set(Some(e.message)),
            }
        });
    };
    view! {
        <form class="card account-form" on:submit=submit>
            <h2>"Change your password"</h2>
            {move || error.get().map(|e| view! { <p class="error" role="alert">{e}</p> })}
            <div class="form-row">
                <label for="current-password">"Current password"</label>
                <input id="current-password" type="password" autocomplete="current-password" prop:value=move || current.get() on:input=move |ev| current.set(event_target_value(&ev))/>
                <label for="new-password">"New password"</label>
                <input id="new-password" type="password" autocomplete="new-password" prop:value=move || password.get() on:input=move |ev| password.set(event_target_value(&ev))/>
                <label for="new-password-again">"The same again"</label>
                <input id="new-password-again" type="password" autocomplete="new-password" prop:value=move || again.get() on:input=move |ev| again.set(event_target_value(&ev))/>
                <button type="submit">"Change password"</button>
            </div>
            <p class="muted hint">"At least 8 characters. Every session and API token of yours ends with the old password."</p>
        </form>
    }
}

#[component]
fn Tokens() -> impl IntoView {
    let ui = Ui::get();
    let refresh = RwSignal::new(0u32);
    let tokens = Resource::new(move || refresh.get(), |_| fetch_tokens());
    let name = RwSignal::new(String::new());
    let days = RwSignal::new(String::new());
    let created = RwSignal::new(None::<Result<CreatedToken, AppError>>);
    let create = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let days = days.get_untracked();
        let expires_in_days = match days.trim() {
            "" => None,
            text => match text.parse::<u32>() {
                Ok(d) => Some(d),
                Err(_) => {
                    created.set(Some(Err(AppError::bad_request("days must be a whole number"))));
                    return;
                }
            },
        };
        let token = NewToken { name: name.get_untracked(), expires_in_days };
        spawn_local(async move {
            let answer = create_token(token).await;
            if answer.is_ok() {
                name.set(String::new());
                refresh.update(|r| *r += 1);
            }
            created.set(Some(answer));
        });
    };
    let revoke = move |token: ApiToken| {
        spawn_local(async move {
            match revoke_token(token.id).await {
                Ok(()) => {
                    ui.toast(format!("Token {} revoked", token.name), false);
                    refresh.update(|r| *r += 1);
                }
                Err(e) => ui.toast(e.message, true),
            }
        });
    };
    view! {
        <div class="card">
            <h2>"API tokens"</h2>
            <p class="muted">"Scripts send a token as "<code>"Authorization: Bearer …"</code>" and act as you, with your role."</p>
            <form class="form-row token-form" on:submit=create>
                <label for="token-name">"Name"</label>
                <input id="token-name" placeholder="what uses it, e.g. nightly-report" prop:value=move || name.get() on:input=move |ev| name.set(event_target_value(&ev))/>
                <label for="token-days">"Expires in (days)"</label>
                <input id="token-days" class="short" inputmode="numeric" placeholder="never" prop:value=move || days.get() on:input=move |ev| days.set(event_target_value(&ev))/>
                <button type="submit" class="primary">"Create token"</button>
            </form>
            {move || created.get().map(|answer| match answer {
                Ok(token) => Either::Left(view! {
                    <div class="new-token" role="status">
                        <p><strong>{format!("Token \u{201c}{}\u{201d} created.", token.name)}</strong>" Copy it now: it is not shown again."</p>
                        <code class="secret" data-token=token.id>{token.token.clone()}</code>
                    </div>
                }),
                Err(e) => Either::Right(view! { <p class="error" role="alert">{e.message}</p> }),
            })}
            <Transition fallback=|| view! { <p class="loading">"Loading tokens…"</p> }>
                {move || Suspend::new(async move {
                    match tokens.await {
                        Ok(list) if list.is_empty() => Either::Left(view! { <p class="empty">"No tokens yet."</p> }),
                        Ok(list) => Either::Right(Either::Left(view! {
                            <table class="compact tokens">
                                <thead><tr><th>"Name"</th><th>"Created"</th><th>"Last used"</th><th>"Expires"</th><th></th></tr></thead>
                                <tbody>
                                    {list.into_iter().map(|token| {
                                        let label = format!("Revoke token {}", token.name);
                                        let this = token.clone();
                                        view! {
                                            <tr data-token=token.id>
                                                <td>{token.name.clone()}</td>
                                                <td class="mono">{optional_time(Some(token.created_at))}</td>
                                                <td class="mono">{optional_time(token.last_used_at)}</td>
                                                <td class="mono">{token.expires_at.map(|t| optional_time(Some(t))).unwrap_or_else(|| "never".into())}</td>
                                                <td><button type="button" class="danger" aria-label=label on:click=move |_| revoke(this.clone())>"Revoke"</button></td>
                                            </tr>
                                        }
                                    }).collect_view()}
                                </tbody>
                            </table>
                        })),
                        Err(e) => Either::Right(Either::Right(view! { <p class="error">{e.message}</p> })),
                    }
                })}
            </Transition>
        </div>
    }
}
