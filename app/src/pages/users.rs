//! People (administrators): every account with its role, a new account, a changed role, a
//! disabled account. Everyone else is told that only administrators manage people.

use leptos::either::Either;
use leptos::prelude::*;
use leptos::task::spawn_local;

use crate::api::{add_user, change_user, fetch_users};
use crate::components::context::Ui;
use crate::components::paged::{Page, PagedTable};
use crate::components::time::Timestamp;
use crate::error::AppError;
use crate::i18n::td_string;
use crate::lang::locale;
use crate::people::{NewUser, Role, User, UserChange, UserQuery};

#[component]
pub fn UsersPage() -> impl IntoView {
    let l = locale();
    let refresh = RwSignal::new(0u32);
    let users = Resource::new(move || refresh.get(), |_| fetch_users(UserQuery::default()));
    view! {
        <section class="page narrow">
            <div class="page-head"><h1>{td_string!(l, common.nav.people)}</h1></div>
            <Transition fallback=move || view! { <p class="loading">{td_string!(l, people.users.loading)}</p> }>
                {move || Suspend::new(async move {
                    match users.await {
                        Ok(page) => Either::Left(view! {
                            <AddUser refresh/>
                            <UserTable first=page.items next=page.next_cursor refresh/>
                        }),
                        Err(e) => Either::Right(view! { <p class="error" role="alert">{e.describe(l)}</p> }),
                    }
                })}
            </Transition>
        </section>
    }
}

#[component]
fn AddUser(refresh: RwSignal<u32>) -> impl IntoView {
    let l = locale();
    let ui = Ui::get();
    let name = RwSignal::new(String::new());
    let password = RwSignal::new(String::new());
    let role = RwSignal::new(Role::Developer);
    let error = RwSignal::new(None::<AppError>);
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let user = NewUser {
            name: name.get_untracked().trim().to_string(),
            password: password.get_untracked(),
            role: role.get_untracked(),
        };
        spawn_local(async move {
            match add_user(user).await {
                Ok(user) => {
                    ui.toast(
                        td_string!(
                            l,
                            people.users.added,
                            name = user.name,
                            role = user.role.label(l)
                        ),
                        false,
                    );
                    error.set(None);
                    name.set(String::new());
                    password.set(String::new());
                    refresh.update(|r| *r += 1);
                }
                Err(e) => error.set(Some(e)),
            }
        });
    };
    view! {
        <form class="card account-form" on:submit=submit>
            <h2>{td_string!(l, people.users.add_title)}</h2>
            {move || error.get().map(|e| view! { <p class="error" role="alert">{e.describe(l)}</p> })}
            <div class="form-row">
                <label for="user-name">{td_string!(l, people.field.user_name)}</label>
                <input id="user-name" autocomplete="off" placeholder=td_string!(l, people.users.name_placeholder) prop:value=move || name.get() on:input=move |ev| name.set(event_target_value(&ev))/>
                <label for="user-role">{td_string!(l, people.field.role)}</label>
                <select id="user-role" on:change=move |ev| {
                    if let Ok(r) = event_target_value(&ev).parse() { role.set(r) }
                }>
                    {Role::ALL.into_iter().map(|r| view! { <option value=r.as_str() selected=r == Role::Developer>{r.label(l)}</option> }).collect_view()}
                </select>
                <label for="user-password">{td_string!(l, people.field.password)}</label>
                <input id="user-password" type="password" autocomplete="new-password" prop:value=move || password.get() on:input=move |ev| password.set(event_target_value(&ev))/>
                <button type="submit" class="primary">{td_string!(l, people.users.add)}</button>
            </div>
        </form>
    }
}

#[component]
fn UserTable(first: Vec<User>, next: Option<String>, refresh: RwSignal<u32>) -> impl IntoView {
    let l = locale();
    let ui = Ui::get();
    let fetch = |cursor: String| async move {
        let page = fetch_users(UserQuery { cursor: Some(cursor), limit: None }).await?;
        Ok(Page { items: page.items, next_cursor: page.next_cursor })
    };
    let apply = move |name: String, change: UserChange, done: String| {
        spawn_local(async move {
            match change_user(name, change).await {
                Ok(_) => {
                    ui.toast(done, false);
                    refresh.update(|r| *r += 1);
                }
                Err(e) => ui.toast(e.describe(l), true),
            }
        });
    };
    let me = move || ui.actor().map(|a| a.name).unwrap_or_default();
    let row = move |user: User| {
        let yourself = user.name == me();
        let (role_name, toggle_name) = (user.name.clone(), user.name.clone());
        let disabled = user.disabled;
        let label = td_string!(l, people.users.role_of, name = user.name.clone());
        view! {
            <tr data-user=user.name.clone() class:disabled=disabled>
                <td class="mono">{user.name.clone()}{yourself.then_some(td_string!(l, people.users.you))}</td>
                <td>
                    <select aria-label=label disabled=yourself on:change=move |ev| {
                        if let Ok(role) = event_target_value(&ev).parse::<Role>() {
                            let change = UserChange { role: Some(role), ..Default::default() };
                            let done = td_string!(l, people.users.role_changed, name = role_name.clone(), role = role.label(l));
                            apply(role_name.clone(), change, done);
                        }
                    }>
                        {Role::ALL.into_iter().map(|r| view! { <option value=r.as_str() selected=r == user.role>{r.label(l)}</option> }).collect_view()}
                    </select>
                </td>
                <td><Timestamp at=Some(user.created_at)/></td>
                <td>{if disabled {
                    Either::Left(view! { <span class="badge state-stopped">{td_string!(l, people.users.disabled)}</span> })
                } else {
                    Either::Right(view! { <span class="badge state-success">{td_string!(l, people.users.active)}</span> })
                }}</td>
                <td>
                    {(!yourself).then(|| view! {
                        <button type="button" class=if disabled { "" } else { "danger" } on:click=move |_| {
                            let change = UserChange { disabled: Some(!disabled), ..Default::default() };
                            let done = if disabled {
                                td_string!(l, people.users.enabled_done, name = toggle_name.clone())
                            } else {
                                td_string!(l, people.users.disabled_done, name = toggle_name.clone())
                            };
                            apply(toggle_name.clone(), change, done);
                        }>{if disabled { td_string!(l, people.users.enable) } else { td_string!(l, people.users.disable) }}</button>
                    })}
                </td>
            </tr>
        }
    };
    view! {
        <PagedTable first next fetch key=|u: &User| (u.id, u.role, u.disabled) row class="users" empty=td_string!(l, people.users.empty)>
            <tr><th>{td_string!(l, people.field.user_name)}</th><th>{td_string!(l, people.field.role)}</th><th>{td_string!(l, people.users.since)}</th><th>{td_string!(l, people.users.status)}</th><th></th></tr>
        </PagedTable>
    }
}
