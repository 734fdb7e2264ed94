//! The operations center home: the instance list with its statistics and filters. The filter
//! lives in the URL so a view can be shared and reloaded.

use leptos::prelude::*;
use leptos::task::spawn_local;
use leptos_router::NavigateOptions;
use leptos_router::hooks::{use_navigate, use_query_map};

use crate::api::{instance_stats, list_instances};
use crate::components::state_badge::{StateBadge, state_icon};
use crate::components::time::{optional_time, short_time};
use crate::error::AppError;
use crate::model::{Instance, InstanceFilter, InstanceState, PageRequest, StateCounts};

type ParsedQuery = Result<(InstanceFilter, PageRequest), AppError>;

fn href_with(filter: &InstanceFilter) -> String {
    let pairs: Vec<String> = filter
        .to_query_pairs()
        .into_iter()
        .map(|(k, v)| format!("{k}={}", urlencode(&v)))
        .collect();
    if pairs.is_empty() { "?".to_string() } else { format!("?{}", pairs.join("&")) }
}

fn urlencode(value: &str) -> String {
    value
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' | b',' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[component]
pub fn InstancesPage() -> impl IntoView {
    let query = use_query_map();
    let parsed: Memo<ParsedQuery> = Memo::new(move |_| {
        query.with(|q| InstanceFilter::from_query(q.latest_values().map(|(k, v)| (k.as_ref(), v))))
    });
    let filter = move || parsed.get().map(|(f, _)| f).unwrap_or_default();

    let stats = Resource::new(
        move || parsed.get(),
        |parsed| async move { instance_stats(parsed?.0).await },
    );
    let first_page = Resource::new(
        move || parsed.get(),
        |parsed| async move {
            let (filter, page) = parsed?;
            list_instances(filter, page).await
        },
    );

    view! {
        <section class="page">
            <div class="page-head">
                <h1>"Cycle instances"</h1>
                <FilterBar filter=Signal::derive(filter)/>
            </div>
            <Transition fallback=|| view! { <StatsBar counts=StateCounts::default() filter=InstanceFilter::default()/> }>
                {move || Suspend::new(async move {
                    let filter = filter();
                    match stats.await {
                        Ok(counts) => view! { <StatsBar counts filter/> }.into_any(),
                        Err(e) => view! { <p class="error">{e.message}</p> }.into_any(),
                    }
                })}
            </Transition>
            <Transition fallback=|| view! { <p class="loading">"Loading instances…"</p> }>
                {move || Suspend::new(async move {
                    match first_page.await {
                        Ok(page) => view! {
                            <InstanceTable
                                filter=filter()
                                first=page.items
                                next_cursor=page.next_cursor
                            />
                        }
                        .into_any(),
                        Err(e) => view! { <p class="error" role="alert">{e.message}</p> }.into_any(),
                    }
                })}
            </Transition>
        </section>
    }
}

/// The filter controls. Changing one navigates to the new URL; the lists follow the URL.
#[component]
fn FilterBar(filter: Signal<InstanceFilter>) -> impl IntoView {
    let navigate = use_navigate();
    let on_state = move |ev: leptos::ev::Event| {
        let value = event_target_value(&ev);
        let mut next = filter.get_untracked();
        next.state = value.parse::<InstanceState>().map(|s| vec![s]).unwrap_or_default();
        navigate(&href_with(&next), NavigateOptions::default());
    };
    let selected = move || filter.with(|f| f.state.first().map(|s| s.as_str()).unwrap_or(""));
    view! {
        <form class="filters" on:submit=|ev| ev.prevent_default()>
            <label for="filter-state">"State"</label>
            <select id="filter-state" name="state" on:change=on_state prop:value=selected>
                    <option value="" selected=move || selected().is_empty()>"any state"</option>
                    {InstanceState::ALL
                        .into_iter()
                        .map(|state| {
                            view! {
                                <option
                                    value=state.as_str()
                                    selected=move || selected() == state.as_str()
                                >
                                    {state.label()}
                                </option>
                            }
                        })
                        .collect_view()}
            </select>
        </form>
    }
}

/// Counters per state; each links to the current filter narrowed to its state.
#[component]
fn StatsBar(counts: StateCounts, filter: InstanceFilter) -> impl IntoView {
    let active = filter.state.clone();
    let with_state =
        move |state: Vec<InstanceState>| href_with(&InstanceFilter { state, ..filter.clone() });
    let shown = [
        InstanceState::Running,
        InstanceState::Success,
        InstanceState::Failed,
        InstanceState::NotRun,
        InstanceState::WaitingTime,
        InstanceState::WaitingResources,
    ];
    let failed = counts.failed + counts.stopped;
    view! {
        <ul class="stats" aria-label="instances per state">
            <li class:active=active.is_empty()>
                <a href=with_state(Vec::new()) data-stat="total">
                    <span class="count">{counts.total}</span>
                    <span class="what">"total"</span>
                </a>
            </li>
            {shown
                .into_iter()
                .map(|state| {
                    let count = if state == InstanceState::Failed { failed } else { counts.get(state) };
                    let states = if state == InstanceState::Failed {
                        vec![InstanceState::Failed, InstanceState::Stopped]
                    } else {
                        vec![state]
                    };
                    let is_active = active.first() == Some(&state);
                    view! {
                        <li class:active=is_active class=format!("stat-{}", state.as_str())>
                            <a href=with_state(states) data-stat=state.as_str()>
                                <span class="count">{count}</span>
                                <span class="what">
                                    <span aria-hidden="true">{state_icon(state)}" "</span>
                                    {state.label()}
                                </span>
                            </a>
                        </li>
                    }
                })
                .collect_view()}
        </ul>
    }
}

#[component]
fn InstanceTable(
    filter: InstanceFilter,
    first: Vec<Instance>,
    next_cursor: Option<String>,
) -> impl IntoView {
    let more = RwSignal::new(Vec::<Instance>::new());
    let cursor = RwSignal::new(next_cursor);
    let loading = RwSignal::new(false);
    let load_error = RwSignal::new(None::<String>);
    let empty = first.is_empty();

    let load_more = move |_| {
        let Some(after) = cursor.get_untracked() else {
            return;
        };
        let filter = filter.clone();
        loading.set(true);
        spawn_local(async move {
            let page = PageRequest { cursor: Some(after), limit: None };
            match list_instances(filter, page).await {
                Ok(page) => {
                    more.update(|rows| rows.extend(page.items));
                    cursor.set(page.next_cursor);
                    load_error.set(None);
                }
                Err(e) => load_error.set(Some(e.message)),
            }
            loading.set(false);
        });
    };

    view! {
        <div class="table-wrap">
            <table class="instances">
                <thead>
                    <tr>
                        <th>"ID"</th>
                        <th>"Node"</th>
                        <th>"Workflow"</th>
                        <th>"Owner"</th>
                        <th>"State"</th>
                        <th>"Business date"</th>
                        <th>"Planned (UTC)"</th>
                        <th>"Started"</th>
                        <th>"Ended"</th>
                        <th class="num">"Attempt"</th>
                    </tr>
                </thead>
                <tbody>
                    {first.into_iter().map(|i| view! { <InstanceRow instance=i/> }).collect_view()}
                    <For each=move || more.get() key=|i| i.id let:instance>
                        <InstanceRow instance/>
                    </For>
                </tbody>
            </table>
            {empty.then(|| view! { <p class="empty">"No instances match this filter."</p> })}
            <div class="pager">
                <Show when=move || cursor.with(Option::is_some)>
                    <button type="button" on:click=load_more.clone() disabled=move || loading.get()>
                        {move || if loading.get() { "Loading…" } else { "Load more" }}
                    </button>
                </Show>
                {move || load_error.get().map(|e| view! { <span class="error">{e}</span> })}
            </div>
        </div>
    }
}

#[component]
fn InstanceRow(instance: Instance) -> impl IntoView {
    view! {
        <tr data-instance-id=instance.id.0 data-state=instance.state.as_str()>
            <td class="num mono">{instance.id.0}</td>
            <td class="node">{instance.node}</td>
            <td>{instance.workflow}</td>
            <td>{instance.owner}</td>
            <td><StateBadge state=instance.state paused=instance.paused/></td>
            <td class="mono">{instance.bizdate.to_string()}</td>
            <td class="mono">{short_time(instance.planned_at)}</td>
            <td class="mono">{optional_time(instance.started_at)}</td>
            <td class="mono">{optional_time(instance.ended_at)}</td>
            <td class="num">{instance.attempt}</td>
        </tr>
    }
}
