//! Your account: who you are and your role, a new password, and your API tokens for scripts
//! (made here, shown once, revoked here).

use leptos::either::Either;
use leptos::prelude::*;
use leptos::task::spawn_local;

use crate::api::{change_user, create_token, fetch_tokens, revoke_token};
use crate::components::context::Ui;
use crate::components::time::Timestamp;
use crate::error::AppError;
use crate::i18n::{Locale, td_string};
use crate::lang::locale;
use crate::people::{ApiToken, CreatedToken, NewToken, UserChange, check_password};
use crate::reason::Reason;

#[component]
pub fn AccountPage() -> impl IntoView {
    let l = locale();
    let ui = Ui::get();
    view! {
        <section class="page narrow">
            <div class="page-head"><h1>{td_string!(l, people.account.title)}</h1></div>
            <Transition fallback=move || view! { <p class="loading">{td_string!(l, common.loading)}</p> }>
                {move || ui.actor().map(|actor| view! {
                    <div class="card">
                        <dl class="properties">
                            <dt>{td_string!(l, people.field.user_name)}</dt><dd class="mono">{actor.name.clone()}</dd>
                            <dt>{td_string!(l, people.field.role)}</dt><dd>{role_words(l, actor.role)}</dd>
                        </dl>
                    </div>
                    <PasswordForm name=actor.name/>
                    <Tokens/>
                })}
            </Transition>
        </section>
    }
}

fn role_words(l: Locale, role: crate::people::Role) -> &'static str {
    match role {
        crate::people::Role::Admin => td_string!(l, people.account.role_admin),
        crate::people::Role::Developer => td_string!(l, people.account.role_developer),
        crate::people::Role::Viewer => td_string!(l, people.account.role_viewer),
    }
}

#[component]
fn PasswordForm(name: String) -> impl IntoView {
    let l = locale();
    let ui = Ui::get();
    let current = RwSignal::new(String::new());
    let password = RwSignal::new(String::new());
    let again = RwSignal::new(String::new());
    let error = RwSignal::new(None::<String>);
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let (first, second) = (password.get_untracked(), again.get_untracked());
        if first != second {
            return error.set(Some(td_string!(l, people.password.differ).into()));
        }
        if let Err(e) = check_password(&first) {
            return error.set(Some(e.describe(l)));
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
                    ui.toast(td_string!(l, people.password.changed), false);
                    // Every session of the account ended with the change, this one too.
                    #[cfg(feature = "hydrate")]
                    let _ = window().location().assign("/login");
                }
                Err(e) => error.set(Some(e.describe(l))),
            }
        });
    };
    view! {
        <form class="card account-form" on:submit=submit>
            <h2>{td_string!(l, people.password.title)}</h2>
            {move || error.get().map(|e| view! { <p class="error" role="alert">{e}</p> })}
            <div class="form-row">
                <label for="current-password">{td_string!(l, people.password.current)}</label>
                <input id="current-password" type="password" autocomplete="current-password" prop:value=move || current.get() on:input=move |ev| current.set(event_target_value(&ev))/>
                <label for="new-password">{td_string!(l, people.password.new_password)}</label>
                <input id="new-password" type="password" autocomplete="new-password" prop:value=move || password.get() on:input=move |ev| password.set(event_target_value(&ev))/>
                <label for="new-password-again">{td_string!(l, people.password.again)}</label>
                <input id="new-password-again" type="password" autocomplete="new-password" prop:value=move || again.get() on:input=move |ev| again.set(event_target_value(&ev))/>
                <button type="submit">{td_string!(l, people.password.submit)}</button>
            </div>
            <p class="muted hint">{td_string!(l, people.password.hint)}</p>
        </form>
    }
}

#[component]
fn Tokens() -> impl IntoView {
    let l = locale();
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
                    created.set(Some(Err(AppError::because(Reason::WholeNumber {
                        field: "expires_in_days".into(),
                    }))));
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
                    ui.toast(td_string!(l, people.tokens.revoked, name = token.name), false);
                    refresh.update(|r| *r += 1);
                }
                Err(e) => ui.toast(e.describe(l), true),
            }
        });
    };
    view! {
        <div class="card">
            <h2>{td_string!(l, people.tokens.title)}</h2>
            <p class="muted">{td_string!(l, people.tokens.intro_before)}<code>"Authorization: Bearer …"</code>{td_string!(l, people.tokens.intro_after)}</p>
            <form class="form-row token-form" on:submit=create>
                <label for="token-name">{td_string!(l, people.field.name)}</label>
                <input id="token-name" placeholder=td_string!(l, people.tokens.name_placeholder) prop:value=move || name.get() on:input=move |ev| name.set(event_target_value(&ev))/>
                <label for="token-days">{td_string!(l, people.tokens.expires_days)}</label>
                <input id="token-days" class="short" inputmode="numeric" placeholder=td_string!(l, people.tokens.never) prop:value=move || days.get() on:input=move |ev| days.set(event_target_value(&ev))/>
                <button type="submit" class="primary">{td_string!(l, people.tokens.create)}</button>
            </form>
            {move || created.get().map(|answer| match answer {
                Ok(token) => Either::Left(view! {
                    <div class="new-token" role="status">
                        <p><strong>{td_string!(l, people.tokens.created, name = token.name.clone())}</strong>{td_string!(l, people.tokens.copy_now)}</p>
                        <code class="secret" data-token=token.id>{token.token.clone()}</code>
                    </div>
                }),
                Err(e) => Either::Right(view! { <p class="error" role="alert">{e.describe(l)}</p> }),
            })}
            <Transition fallback=move || view! { <p class="loading">{td_string!(l, people.tokens.loading)}</p> }>
                {move || Suspend::new(async move {
                    match tokens.await {
                        Ok(list) if list.is_empty() => Either::Left(view! { <p class="empty">{td_string!(l, people.tokens.empty)}</p> }),
                        Ok(list) => Either::Right(Either::Left(view! {
                            <table class="compact tokens">
                                <thead><tr><th>{td_string!(l, people.field.name)}</th><th>{td_string!(l, people.tokens.created_at)}</th><th>{td_string!(l, people.tokens.last_used)}</th><th>{td_string!(l, people.tokens.expires)}</th><th></th></tr></thead>
                                <tbody>
                                    {list.into_iter().map(|token| {
                                        let label = td_string!(l, people.tokens.revoke_label, name = token.name.clone());
                                        let this = token.clone();
                                        view! {
                                            <tr data-token=token.id>
                                                <td>{token.name.clone()}</td>
                                                <td><Timestamp at=Some(token.created_at)/></td>
                                                <td><Timestamp at=token.last_used_at/></td>
                                                <td>{match token.expires_at {
                                                    Some(at) => Either::Left(view! { <Timestamp at=Some(at)/> }),
                                                    None => Either::Right(td_string!(l, people.tokens.never)),
                                                }}</td>
                                                <td><button type="button" class="danger" aria-label=label on:click=move |_| revoke(this.clone())>{td_string!(l, people.tokens.revoke)}</button></td>
                                            </tr>
                                        }
                                    }).collect_view()}
                                </tbody>
                            </table>
                        })),
                        Err(e) => Either::Right(Either::Right(view! { <p class="error">{e.describe(l)}</p> })),
                    }
                })}
            </Transition>
        </div>
    }
}
