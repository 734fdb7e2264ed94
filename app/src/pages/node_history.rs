//! A node's definition history on its page: every version with who made it and when, a
//! field-by-field comparison of any two, and rolling back to one (a new version, validated like
//! any change).

use leptos::either::Either;
use leptos::prelude::*;
use leptos::task::spawn_local;

use crate::api::{fetch_node_versions, rollback_node};
use crate::components::context::Ui;
use crate::components::time::Timestamp;
use crate::i18n::td_string;
use crate::lang::locale;
use crate::nodes::{NodeVersion, node_changes};
use crate::reason::field_label;

/// The two versions people chose to compare, (node, from, to); `None` until they choose (then
/// the last change is shown). Kept by the page, so that its refreshes do not reset it.
pub type Compare = RwSignal<Option<(String, u32, u32)>>;

/// The history card. `refused` says why the person may not change the node (no roll-back
/// buttons then, only the reason on them).
#[component]
pub fn NodeHistory(
    name: String,
    refused: Signal<Option<String>>,
    compare: Compare,
) -> impl IntoView {
    let l = locale();
    let ui = Ui::get();
    let versions = Resource::new(
        {
            let name = name.clone();
            move || (name.clone(), ui.tick.get())
        },
        |(name, _)| fetch_node_versions(name),
    );
    view! {
        <div class="card node-history">
            <h2>{td_string!(l, tasks.history.title)}</h2>
            <Transition fallback=move || view! { <p class="loading">{td_string!(l, common.loading)}</p> }>
                {move || {
                    let name = name.clone();
                    Suspend::new(async move {
                        match versions.await {
                            Ok(page) => Either::Left(view! { <Versions name items=page.items refused compare/> }),
                            Err(e) => Either::Right(view! { <p class="error" role="alert">{e.describe(l)}</p> }),
                        }
                    })
                }}
            </Transition>
        </div>
    }
}

#[component]
fn Versions(
    name: String,
    items: Vec<NodeVersion>,
    refused: Signal<Option<String>>,
    compare: Compare,
) -> impl IntoView {
    let l = locale();
    let ui = Ui::get();
    let current = items.first().map(|v| v.version).unwrap_or(0);
    // Compare the one before the current with the current, until people pick others.
    let default = (items.get(1).map_or(current, |v| v.version), current);
    let chosen = {
        let name = name.clone();
        Signal::derive(move || match compare.get() {
            Some((node, from, to)) if node == name => (from, to),
            _ => default,
        })
    };
    let older = Signal::derive(move || chosen.get().0);
    let newer = Signal::derive(move || chosen.get().1);
    let pick = {
        let name = name.clone();
        move |from: u32, to: u32| compare.set(Some((name.clone(), from, to)))
    };
    let all = StoredValue::new(items.clone());
    let spec_of = move |version: u32| {
        all.with_value(|all| all.iter().find(|v| v.version == version).map(|v| v.spec.clone()))
    };
    let busy = RwSignal::new(false);
    let roll_back = move |version: u32| {
        let name = name.clone();
        busy.set(true);
        spawn_local(async move {
            match rollback_node(name.clone(), version).await {
                Ok(node) => {
                    compare.set(None);
                    ui.toast(
                        td_string!(l, tasks.history.rolled_back, version, now = node.version),
                        false,
                    );
                    ui.refresh();
                }
                Err(e) => ui.toast(e.describe(l), true),
            }
            busy.set(false);
        });
    };
    let rows = items
        .into_iter()
        .map(|v| {
            let n = v.version;
            let roll_back = roll_back.clone();
            let (pick_from, pick_to) = (pick.clone(), pick.clone());
            view! {
                <tr data-version=n>
                    <td class="version">{format!("v{n}")}
                        {(n == current).then(|| view! { " "<span class="badge">{td_string!(l, tasks.history.current)}</span> })}
                    </td>
                    <td>{v.changed_by.clone()}</td>
                    <td><Timestamp at=Some(v.changed_at)/></td>
                    <td class="pick">
                        <input type="radio" name="older" aria-label=td_string!(l, tasks.history.compare_from, version = n)
                            prop:checked=move || older.get() == n on:change=move |_| pick_from(n, newer.get_untracked())/>
                    </td>
                    <td class="pick">
                        <input type="radio" name="newer" aria-label=td_string!(l, tasks.history.compare_to, version = n)
                            prop:checked=move || newer.get() == n on:change=move |_| pick_to(older.get_untracked(), n)/>
                    </td>
                    <td>
                        {(n != current).then(|| view! {
                            <button type="button" data-rollback=n title=move || refused.get()
                                disabled=move || busy.get() || refused.get().is_some()
                                on:click=move |_| roll_back(n)>{td_string!(l, tasks.history.roll_back)}</button>
                        })}
                    </td>
                </tr>
            }
        })
        .collect_view();
    let diff = move || {
        let (from, to) = (older.get(), newer.get());
        let changes = node_changes(spec_of(from).as_ref(), spec_of(to).as_ref(), None);
        let heading = td_string!(l, tasks.history.diff_title, from, to);
        if changes.is_empty() {
            return Either::Left(view! {
                <h3>{heading}</h3>
                <p class="muted empty-diff">{td_string!(l, tasks.history.no_difference)}</p>
            });
        }
        Either::Right(view! {
            <h3>{heading}</h3>
            <table class="version-diff">
                <thead><tr>
                    <th>{td_string!(l, tasks.history.field)}</th>
                    <th>{format!("v{from}")}</th>
                    <th>{format!("v{to}")}</th>
                </tr></thead>
                <tbody>
                    {changes.into_iter().map(|c| view! {
                        <tr data-field=c.field.clone()>
                            <td>{field_label(l, &c.field)}</td>
                            <td class="before"><del>{c.before.unwrap_or_default()}</del></td>
                            <td class="after"><ins>{c.after.unwrap_or_default()}</ins></td>
                        </tr>
                    }).collect_view()}
                </tbody>
            </table>
        })
    };
    view! {
        <table class="versions">
            <thead><tr>
                <th>{td_string!(l, tasks.history.version)}</th>
                <th>{td_string!(l, tasks.history.changed_by)}</th>
                <th>{td_string!(l, tasks.history.changed_at)}</th>
                <th>{td_string!(l, tasks.history.from)}</th>
                <th>{td_string!(l, tasks.history.to)}</th>
                <th></th>
            </tr></thead>
            <tbody>{rows}</tbody>
        </table>
        <div class="diff">{diff}</div>
    }
}
