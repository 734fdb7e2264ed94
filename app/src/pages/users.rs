//! People (administrators): every account with its role, a new account, a changed role, a
//! disabled account. Everyone else is told that only administrators manage people.

use leptos::either::Either;
use leptos::prelude::*;
use leptos::task::spawn_local;

use crate::api::{add_user, change_user, fetch_users};
use crate::components::context::Ui;
use crate::components::paged::{Page, PagedTable};
use crate::components::time::optional_time;
use crate::error::AppError;
use crate::people::{NewUser, Role, User, UserChange, UserQuery};

#[component]
pub fn UsersPage() -> impl IntoView {
    let refresh = RwSignal::new(0u32);
    let users = Resource::new(move || refresh.get(), |_| fetch_users(UserQuery::default()));
    view! {
        <section class="page narrow">
            <div class="page-head"><h1>"People"</h1></div>
            <Transition fallback=|| view! { <p class="loading">"Loading people…"</p> }>
                {move || Suspend::new(async move {
                    match users.await {
                        Ok(page) => Either::Left(view! {
                            <AddUser refresh/>
                            <UserTable first=page.items next=page.next_cursor refresh/>
                        }),
                        Err(e) => Either::Right(view! { <p class="error" role="alert">{e.message}</p> }),
                    }
                })}
            </Transition>
        </section>
    }
}

#[component]
fn AddUser(refresh: RwSignal<u32>) -> impl IntoView {
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
                    ui.toast(format!("{} added as {}", user.name, user.role), false);
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
            <h2>"Add a person"</h2>
            {move || error.get().map(|e| view! { <p class="error" role="alert">{e.message}</p> })}
            <div class="form-row">
                <label for="user-name">"User name"</label>
                <input id="user-name" autocomplete="off" placeholder="as node owners name them" prop:value=move || name.get() on:input=move |ev| name.set(event_target_value(&ev))/>
                <label for="user-role">"Role"</label>
                <select id="user-role" on:change=move |ev| {
                    if let Ok(r) = event_target_value(&ev).parse() { role.set(r) }
                }>
                    {Role::ALL.into_iter().map(|r| view! { <option value=r.as_str() selected=r == Role::Developer>{r.as_str()}</option> }).collect_view()}
                </select>
                <label for="user-password">"Password"</label>
                <input id="user-password" type="password" autocomplete="new-password" prop:value=move || password.get() on:input=move |ev| password.set(event_target_value(&ev))/>
                <button type="submit" class="primary">"Add"</button>
            </div>
        </form>
    }
}

#[component]
fn UserTable(first: Vec<User>, next: Option<String>, refresh: RwSignal<u32>) -> impl IntoView {
    let ui = Ui::get();
    let fetch = |cursor: String| async move {
        let page = fetch_users(UserQuery { cursor: Some(cursor), limit: None }).await?;
        Ok(Page { items: page.items, next_cursor: page.next_cursor })
    };
    let apply = move |name: String, change: UserChange, done: String| {
        spawn_local(async move {
            match change_user(name.clone(), change).await {
                Ok(_) => {
                    ui.toast(format!("{name}: {done}"), false);
                    refresh.update(|r| *r += 1);
                }
                Err(e) => ui.toast(e.message, true),
            }
        });
    };
    let me = move || ui.actor().map(|a| a.name).unwrap_or_default();
    let row = move |user: User| {
        let yourself = user.name == me();
        let (role_name, toggle_name) = (user.name.clone(), user.name.clone());
        let disabled = user.disabled;
        let label = format!("Role of {}", user.name);
        view! {
            <tr data-user=user.name.clone() class:disabled=disabled>
                <td class="mono">{user.name.clone()}{yourself.then_some(" (you)")}</td>
                <td>
                    <select aria-label=label disabled=yourself on:change=move |ev| {
                        if let Ok(role) = event_target_value(&ev).parse::<Role>() {
                            let change = UserChange { role: Some(role), ..Default::default() };
                            apply(role_name.clone(), change, format!("now {role}"));
                        }
                    }>
                        {Role::ALL.into_iter().map(|r| view! { <option value=r.as_str() selected=r == user.role>{r.as_str()}</option> }).collect_view()}
                    </select>
                </td>
                <td class="mono">{optional_time(Some(user.created_at))}</td>
                <td>{if disabled {
                    Either::Left(view! { <span class="badge state-stopped">"disabled"</span> })
                } else {
                    Either::Right(view! { <span class="badge state-success">"active"</span> })
                }}</td>
                <td>
                    {(!yourself).then(|| view! {
                        <button type="button" class=if disabled { "" } else { "danger" } on:click=move |_| {
                            let change = UserChange { disabled: Some(!disabled), ..Default::default() };
                            apply(toggle_name.clone(), change, if disabled { "enabled".into() } else { "disabled".into() });
                        }>{if disabled { "Enable" } else { "Disable" }}</button>
                    })}
                </td>
            </tr>
        }
    };
    view! {
        <PagedTable first next fetch key=|u: &User| (u.id, u.role, u.disabled) row class="users" empty="No accounts yet.">
            <tr><th>"User name"</th><th>"Role"</th><th>"Since"</th><th>"Status"</th><th></th></tr>
        </PagedTable>
    }
}
