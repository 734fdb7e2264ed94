//! The operations center's instance lists (cycle, test, backfill): filters in the URL, the
//! statistics bar, the keyset-paged table with live states, row selection, the batch actions and
//! the right-click menu on every row.

use std::collections::BTreeSet;

use leptos::either::Either;
use leptos::prelude::*;
use leptos::task::spawn_local;
use leptos_router::NavigateOptions;
use leptos_router::components::Redirect;
use leptos_router::hooks::{use_location, use_navigate, use_query_map};

use crate::api::{instance_stats, instances_by_ids, list_instances};
use crate::components::actions::{ActionsButton, open_menu};
use crate::components::context::{Dialog, Ui, detail_href, flow_href, log_href, target_of};
use crate::components::jobs_panel::JobsPanel;
use crate::components::legend::StateLegend;
use crate::components::state_badge::{StateBadge, state_icon};
use crate::components::time::{Timestamp, duration_ms};
use crate::error::AppError;
use crate::i18n::td_string;
use crate::lang::{Locale, locale};
use crate::model::{
    Instance, InstanceFilter, InstanceId, InstanceState, PageRequest, RunType, StateCounts,
};
use crate::report::{BatchKind, BatchRequest};
use crate::rules::{self, Permission};

type ParsedQuery = Result<(InstanceFilter, PageRequest), AppError>;

fn title_of(l: Locale, run_type: RunType) -> &'static str {
    match run_type {
        RunType::Cycle => td_string!(l, common.nav.cycle),
        RunType::Test => td_string!(l, common.nav.test),
        RunType::Backfill => td_string!(l, common.nav.backfill),
    }
}

/// The default view: the acting person's failed instances.
fn default_filter(owner: &str) -> InstanceFilter {
    InstanceFilter {
        state: InstanceState::FAILURES.to_vec(),
        owner: Some(owner.to_string()),
        ..Default::default()
    }
}

#[component]
pub fn InstancesPage(run_type: RunType) -> impl IntoView {
    let l = locale();
    let ui = Ui::get();
    let query = use_query_map();
    let location = use_location();
    let path = move || location.pathname.get();
    let parsed: Memo<ParsedQuery> = Memo::new(move |_| {
        query.with(|q| {
            InstanceFilter::from_query(q.latest_values().map(|(k, v)| (k.as_ref(), v))).map(
                |(mut filter, page)| {
                    filter.run_type = Some(run_type);
                    (filter, page)
                },
            )
        })
    });
    let filter = Signal::derive(move || {
        parsed
            .get()
            .map(|(f, _)| f)
            .unwrap_or_else(|_| InstanceFilter { run_type: Some(run_type), ..Default::default() })
    });
    let is_default_url = move || query.with(|q| q.latest_values().next().is_none());

    // The counters follow every filter but the state one, so each stays meaningful and clicking
    // one narrows the list to it.
    let stats = Resource::new(
        move || (parsed.get(), ui.counts_tick.get()),
        |(parsed, _)| async move {
            let filter = InstanceFilter { state: Vec::new(), ..parsed?.0 };
            instance_stats(filter).await
        },
    );
    let first_page = Resource::new(
        move || parsed.get(),
        |parsed| async move {
            let (filter, page) = parsed?;
            list_instances(filter, page).await
        },
    );
    // How many instances the whole filter (states included) matches.
    let total = Signal::derive(move || {
        let counts = stats.get().and_then(Result::ok)?;
        let states = filter.with(|f| f.state.clone());
        Some(if states.is_empty() {
            counts.total
        } else {
            states.iter().map(|s| counts.get(*s)).sum()
        })
    });

    view! {
        <section class="page">
            <Transition fallback=|| ()>
                {move || Suspend::new(async move {
                    // A bare URL shows the default view, with its filter written into the URL.
                    let me = ui.me.await.ok();
                    (is_default_url())
                        .then(|| {
                            let owner = me.map(|m| m.name).unwrap_or_default();
                            let target = format!("{}{}", path(), default_filter(&owner).to_query_string());
                            view! { <Redirect path=target/> }
                        })
                })}
            </Transition>
            <div class="page-head">
                <h1>{title_of(l, run_type)}</h1>
                <StateLegend/>
            </div>
            {(run_type != RunType::Cycle).then(|| {
                view! { <JobsPanel kind=run_type active=Signal::derive(move || filter.with(|f| f.job))/> }
            })}
            <FilterBar filter path=Signal::derive(path)/>
            <Transition fallback=|| view! { <StatsBar counts=StateCounts::default() filter=InstanceFilter::default() path=String::new()/> }>
                {move || Suspend::new(async move {
                    let filter = filter.get();
                    match stats.await {
                        Ok(counts) => Either::Left(view! { <StatsBar counts filter path=path()/> }),
                        Err(e) => Either::Right(view! { <p class="error" role="alert">{e.describe(l)}</p> }),
                    }
                })}
            </Transition>
            <Transition fallback=move || view! { <p class="loading">{td_string!(l, instances.loading)}</p> }>
                {move || Suspend::new(async move {
                    match first_page.await {
                        Ok(page) => Either::Left(view! {
                            <InstanceTable
                                filter=filter.get_untracked()
                                first=page.items
                                next_cursor=page.next_cursor
                                total
                            />
                        }),
                        Err(e) => Either::Right(view! { <p class="error" role="alert">{e.describe(l)}</p> }),
                    }
                })}
            </Transition>
        </section>
    }
}

/// The filter controls. Each change navigates to the new URL; the page follows the URL.
#[component]
fn FilterBar(filter: Signal<InstanceFilter>, path: Signal<String>) -> impl IntoView {
    let l = locale();
    let ui = Ui::get();
    let navigate = use_navigate();
    let go = move |next: InstanceFilter| {
        navigate(
            &format!("{}{}", path.get_untracked(), next.to_query_string()),
            NavigateOptions::default(),
        );
    };
    let text_field = {
        let go = go.clone();
        move |label: &'static str, name: &'static str, placeholder: &'static str| {
            let go = go.clone();
            let value = move || {
                filter
                    .with(|f| match name {
                        "node" => f.node.clone(),
                        "owner" => f.owner.clone(),
                        _ => f.workflow.clone(),
                    })
                    .unwrap_or_default()
            };
            let on_change = move |ev: leptos::ev::Event| {
                let text = event_target_value(&ev).trim().to_string();
                let text = (!text.is_empty()).then_some(text);
                let mut next = filter.get_untracked();
                match name {
                    "node" => next.node = text,
                    "owner" => next.owner = text,
                    _ => next.workflow = text,
                }
                go(next);
            };
            let id = format!("filter-{name}");
            view! {
                <label for=id.clone()>{label}</label>
                <input id=id type="search" name=name placeholder=placeholder prop:value=value on:change=on_change/>
            }
        }
    };
    let date_field = {
        let go = go.clone();
        move |label: &'static str, name: &'static str| {
            let go = go.clone();
            let value = move || {
                filter
                    .with(|f| if name == "bizdate" { f.bizdate } else { f.run_date })
                    .map(|d| d.to_string())
                    .unwrap_or_default()
            };
            let on_change = move |ev: leptos::ev::Event| {
                let date = crate::model::parse_date(name, &event_target_value(&ev)).ok();
                let mut next = filter.get_untracked();
                if name == "bizdate" {
                    next.bizdate = date;
                } else {
                    next.run_date = date;
                }
                go(next);
            };
            let id = format!("filter-{name}");
            view! {
                <label for=id.clone()>{label}</label>
                <input id=id type="date" name=name prop:value=value on:change=on_change/>
            }
        }
    };
    let chips = {
        let go = go.clone();
        InstanceState::ALL
            .into_iter()
            .map(move |state| {
                let go = go.clone();
                let on = move || filter.with(|f| f.state.contains(&state));
                let toggle = move |_| {
                    let mut next = filter.get_untracked();
                    if next.state.contains(&state) {
                        next.state.retain(|s| *s != state);
                    } else {
                        next.state.push(state);
                    }
                    go(next);
                };
                view! {
                    <button
                        type="button"
                        class=format!("chip state-{}", state.as_str())
                        class:on=on
                        aria-pressed=move || on().to_string()
                        data-state=state.as_str()
                        on:click=toggle
                    >
                        <span class="icon" aria-hidden="true">{state_icon(state)}</span>
                        <span class="label">{state.label(l)}</span>
                    </button>
                }
            })
            .collect_view()
    };
    let mine = move || {
        let owner = ui.actor().map(|a| a.name).unwrap_or_default();
        format!("{}{}", path.get(), default_filter(&owner).to_query_string())
    };
    let everything =
        move || format!("{}{}", path.get(), InstanceFilter::default().to_query_string());
    view! {
        <form class="filters" on:submit=|ev| ev.prevent_default()>
            <div class="fields">
                {text_field(td_string!(l, instances.filter.node), "node", td_string!(l, instances.filter.node_placeholder))}
                {text_field(td_string!(l, instances.filter.owner), "owner", td_string!(l, instances.filter.owner_placeholder))}
                {text_field(td_string!(l, instances.filter.workflow), "workflow", td_string!(l, instances.filter.workflow_placeholder))}
                {date_field(td_string!(l, instances.filter.bizdate), "bizdate")}
                {date_field(td_string!(l, instances.filter.run_date), "run_date")}
                // A list narrowed to one test or backfill says so, and can be widened again.
                {
                    let go = go.clone();
                    move || filter.with(|f| f.job).map(|job| {
                        let go = go.clone();
                        let remove = move |_| go(InstanceFilter { job: None, ..filter.get_untracked() });
                        view! {
                            <span class="filter-chip" data-filter-chip="job">
                                {td_string!(l, instances.filter.job, job)}
                                <button
                                    type="button"
                                    class="remove"
                                    data-remove-filter="job"
                                    aria-label=td_string!(l, instances.filter.remove_job, job)
                                    title=td_string!(l, instances.filter.remove_job, job)
                                    on:click=remove
                                >
                                    "×"
                                </button>
                            </span>
                        }
                    })
                }
            </div>
            <div class="chips" role="group" aria-label=td_string!(l, instances.filter.state)>
                <span class="muted">{td_string!(l, instances.filter.state)}</span>
                {chips}
                <span class="presets">
                    <a href=mine class="preset">{td_string!(l, instances.filter.my_failed)}</a>
                    <a href=everything class="preset">{td_string!(l, instances.filter.everything)}</a>
                </span>
            </div>
        </form>
    }
}

/// Counters per state; each links to the current filter narrowed to its state.
#[component]
fn StatsBar(counts: StateCounts, filter: InstanceFilter, path: String) -> impl IntoView {
    let l = locale();
    let shown = [
        InstanceState::Running,
        InstanceState::Success,
        InstanceState::Failed,
        InstanceState::NotRun,
        InstanceState::WaitingTime,
        InstanceState::WaitingResources,
    ];
    let failed = counts.failed + counts.stopped;
    let active = filter.state.clone();
    let with_state = move |state: Vec<InstanceState>| {
        format!("{path}{}", InstanceFilter { state, ..filter.clone() }.to_query_string())
    };
    view! {
        <ul class="stats" aria-label=td_string!(l, instances.stats.label)>
            <li class:active=active.is_empty()>
                <a href=with_state(Vec::new()) data-stat="total">
                    <span class="count">{counts.total}</span>
                    <span class="what">{td_string!(l, instances.stats.total)}</span>
                </a>
            </li>
            {shown
                .into_iter()
                .map(|state| {
                    let (count, states) = if state == InstanceState::Failed {
                        (failed, InstanceState::FAILURES.to_vec())
                    } else {
                        (counts.get(state), vec![state])
                    };
                    let is_active = active == states;
                    view! {
                        <li class:active=is_active class=format!("stat-{}", state.as_str())>
                            <a href=with_state(states) data-stat=state.as_str()>
                                <span class="count">{count}</span>
                                <span class="what">
                                    <span aria-hidden="true">{state_icon(state)}" "</span>
                                    {state.label(l)}
                                </span>
                            </a>
                        </li>
                    }
                })
                .collect_view()}
        </ul>
    }
}

/// What identifies a row's rendering: it is redrawn when any of these change.
fn row_key(i: &Instance) -> (InstanceId, InstanceState, bool, i32, Option<i64>) {
    (i.id, i.state, i.paused, i.attempt, i.ended_at.map(|t| t.timestamp_millis()))
}

#[component]
fn InstanceTable(
    filter: InstanceFilter,
    first: Vec<Instance>,
    next_cursor: Option<String>,
    total: Signal<Option<u64>>,
) -> impl IntoView {
    let l = locale();
    let ui = Ui::get();
    let rows = RwSignal::new(first);
    let cursor = RwSignal::new(next_cursor);
    let loading = RwSignal::new(false);
    let load_error = RwSignal::new(None::<String>);
    let selected = RwSignal::new(BTreeSet::<InstanceId>::new());
    let all_matching = RwSignal::new(false);

    // Live: when the server says instances changed, re-read the rows on screen.
    let seen_tick = StoredValue::new(ui.tick.get_untracked());
    Effect::new(move |_| {
        let tick = ui.tick.get();
        if tick == seen_tick.get_value() {
            return;
        }
        seen_tick.set_value(tick);
        let ids: Vec<InstanceId> = rows.with_untracked(|r| r.iter().map(|i| i.id).collect());
        if ids.is_empty() {
            return;
        }
        spawn_local(async move {
            if let Ok(fresh) = instances_by_ids(ids).await {
                rows.update(|rows| {
                    for row in rows.iter_mut() {
                        if let Some(new) = fresh.iter().find(|f| f.id == row.id) {
                            *row = new.clone();
                        }
                    }
                });
            }
        });
    });

    let more_filter = filter.clone();
    let load_more = move |_| {
        let Some(after) = cursor.get_untracked() else { return };
        let filter = more_filter.clone();
        loading.set(true);
        spawn_local(async move {
            match list_instances(filter, PageRequest { cursor: Some(after), limit: None }).await {
                Ok(page) => {
                    rows.update(|r| r.extend(page.items));
                    cursor.set(page.next_cursor);
                    load_error.set(None);
                }
                Err(e) => load_error.set(Some(e.describe(l))),
            }
            loading.set(false);
        });
    };

    let loaded = move || rows.with(Vec::len);
    let all_loaded_selected = move || {
        let n = loaded();
        n > 0 && selected.with(|s| s.len()) == n
    };
    let toggle_all = move |ev: leptos::ev::Event| {
        all_matching.set(false);
        if event_target_checked(&ev) {
            selected.set(rows.with(|r| r.iter().map(|i| i.id).collect()));
        } else {
            selected.set(BTreeSet::new());
        }
    };
    let batch_filter = filter.clone();
    let open_batch = Callback::new(move |kind: BatchKind| {
        let (request, label) = if all_matching.get_untracked() {
            let n = total.get_untracked().unwrap_or_default();
            (
                BatchRequest { ids: None, filter: Some(batch_filter.clone()), dry_run: true },
                td_string!(l, instances.batch.all_matching, count = n),
            )
        } else {
            let ids: Vec<InstanceId> = selected.get_untracked().into_iter().collect();
            let label = td_string!(l, instances.batch.selected, count = ids.len());
            (BatchRequest { ids: Some(ids), filter: None, dry_run: true }, label)
        };
        ui.dialog.set(Some(Dialog::Batch { kind, request, label }));
    });
    // Offered only to roles that may do them (the server checks again).
    let may_batch_kill =
        move || ui.actor().is_some_and(|a| rules::authorize(&a, Permission::BatchKill).is_ok());
    let may_operate = move || ui.actor().is_some_and(|a| rules::may_operate(&a));

    view! {
        <Show when=move || !selected.with(BTreeSet::is_empty) || all_matching.get()>
            <div class="batch-bar" role="toolbar" aria-label=td_string!(l, instances.batch.toolbar)>
                <span class="selection-count">
                    {move || {
                        if all_matching.get() {
                            td_string!(l, instances.batch.all_selected, count = total.get().unwrap_or_default())
                        } else {
                            td_string!(l, instances.batch.selected, count = selected.with(|s| s.len()))
                        }
                    }}
                </span>
                {move || {
                    let more = total.get().is_some_and(|t| t as usize > loaded());
                    (all_loaded_selected() && more && !all_matching.get())
                        .then(|| {
                            view! {
                                <button type="button" class="link" on:click=move |_| all_matching.set(true)>
                                    {move || td_string!(l, instances.batch.select_all_matching, count = total.get().unwrap_or_default())}
                                </button>
                            }
                        })
                }}
                <span class="spacer"></span>
                <Show when=may_operate fallback=move || view! { <span class="muted">{td_string!(l, instances.batch.viewer_note)}</span> }>
                    <button type="button" data-batch="rerun" on:click=move |_| open_batch.run(BatchKind::Rerun)>
                        {td_string!(l, instances.batch.repair)}
                    </button>
                </Show>
                <Show when=may_batch_kill>
                    <button type="button" class="danger" data-batch="kill" on:click=move |_| open_batch.run(BatchKind::Kill)>
                        {td_string!(l, instances.batch.kill)}
                    </button>
                </Show>
                <button
                    type="button"
                    class="link"
                    on:click=move |_| {
                        selected.set(BTreeSet::new());
                        all_matching.set(false);
                    }
                >
                    {td_string!(l, common.button.clear)}
                </button>
            </div>
        </Show>
        <div class="table-wrap">
            <table class="instances">
                <thead>
                    <tr>
                        <th class="check">
                            <input
                                type="checkbox"
                                aria-label=td_string!(l, instances.table.select_all)
                                prop:checked=all_loaded_selected
                                on:change=toggle_all
                            />
                        </th>
                        <th class="num">{td_string!(l, instances.table.id)}</th>
                        <th>{td_string!(l, instances.table.node)}</th>
                        <th>{td_string!(l, instances.table.workflow)}</th>
                        <th>{td_string!(l, instances.table.owner)}</th>
                        <th>{td_string!(l, instances.table.state)}</th>
                        <th>{td_string!(l, instances.table.bizdate)}</th>
                        <th>{td_string!(l, instances.table.planned)}</th>
                        <th>{td_string!(l, instances.table.started)}</th>
                        <th class="num">{td_string!(l, instances.table.took)}</th>
                        <th class="num">{td_string!(l, instances.table.attempt)}</th>
                        <th>{td_string!(l, instances.table.view)}</th>
                        <th class="actions-col"><span class="visually-hidden">{td_string!(l, instances.table.actions)}</span></th>
                    </tr>
                </thead>
                <tbody>
                    <For each=move || rows.get() key=row_key let:instance>
                        <InstanceRow instance selected all_matching/>
                    </For>
                </tbody>
            </table>
            <Show when=move || loaded() == 0>
                {
                    let filter = filter.clone();
                    move || {
                        // The landing view (my failed) says why it is empty, and where the
                        // failures of everybody else are.
                        let me = ui.actor().map(|a| a.name).unwrap_or_default();
                        let mine = !me.is_empty()
                            && InstanceFilter { run_type: None, ..filter.clone() } == default_filter(&me);
                        if mine {
                            let all_failed = InstanceFilter {
                                state: InstanceState::FAILURES.to_vec(),
                                ..Default::default()
                            };
                            let path = use_location().pathname.get_untracked();
                            let href = format!("{path}{}", all_failed.to_query_string());
                            Either::Left(view! {
                                <p class="empty">
                                    {td_string!(l, instances.empty_mine)}" "
                                    <a href=href data-all-failed="">{td_string!(l, instances.all_failed)}</a>
                                </p>
                            })
                        } else {
                            Either::Right(view! { <p class="empty">{td_string!(l, instances.empty)}</p> })
                        }
                    }
                }
            </Show>
            <div class="pager">
                <span class="muted">
                    {move || match total.get() {
                        Some(t) => td_string!(l, instances.pager.shown_of, loaded = loaded(), total = t),
                        None => td_string!(l, instances.pager.shown, loaded = loaded()),
                    }}
                </span>
                <Show when=move || cursor.with(Option::is_some)>
                    <button type="button" on:click=load_more.clone() disabled=move || loading.get()>
                        {move || if loading.get() { td_string!(l, common.loading) } else { td_string!(l, common.button.load_more) }}
                    </button>
                </Show>
                {move || load_error.get().map(|e| view! { <span class="error">{e}</span> })}
            </div>
        </div>
    }
}

#[component]
fn InstanceRow(
    instance: Instance,
    selected: RwSignal<BTreeSet<InstanceId>>,
    all_matching: RwSignal<bool>,
) -> impl IntoView {
    let l = locale();
    let id = instance.id;
    let target = target_of(&instance);
    let menu_target = target.clone();
    let on_menu = move |ev: leptos::ev::MouseEvent| {
        ev.prevent_default();
        open_menu(menu_target.clone(), ev.client_x(), ev.client_y());
    };
    let took = match (instance.started_at, instance.ended_at) {
        (Some(s), Some(e)) if !matches!(instance.state, InstanceState::Running) => {
            duration_ms(l, (e - s).num_milliseconds())
        }
        _ => "—".to_string(),
    };
    let checked = move || all_matching.get() || selected.with(|s| s.contains(&id));
    let toggle = move |ev: leptos::ev::Event| {
        let on = event_target_checked(&ev);
        all_matching.set(false);
        selected.update(|s| {
            if on {
                s.insert(id);
            } else {
                s.remove(&id);
            }
        });
    };
    view! {
        <tr
            data-instance-id=id.0
            data-state=instance.state.as_str()
            data-node=instance.node.clone()
            class:selected=checked
            on:contextmenu=on_menu
        >
            <td class="check">
                <input type="checkbox" aria-label=td_string!(l, instances.table.select_row, id) prop:checked=checked on:change=toggle/>
            </td>
            <td class="num mono"><a href=detail_href(id)>{id.0}</a></td>
            <td class="node"><a href=detail_href(id)>{instance.node.clone()}</a></td>
            <td>{instance.workflow.clone()}</td>
            <td>{instance.owner.clone()}</td>
            <td><StateBadge state=instance.state paused=instance.paused dry_run=instance.dry_run/></td>
            <td class="mono">{instance.bizdate.to_string()}</td>
            <td><Timestamp at=Some(instance.planned_at)/></td>
            <td><Timestamp at=instance.started_at/></td>
            <td class="num">{took}</td>
            <td class="num">{instance.attempt}</td>
            <td class="links">
                <a href=flow_href(id)>{td_string!(l, instances.table.flow)}</a>
                <a href=log_href(id)>{td_string!(l, instances.table.log)}</a>
                <a href=format!("{}#neighbours", detail_href(id))>{td_string!(l, instances.table.neighbours)}</a>
            </td>
            <td class="actions-col"><ActionsButton target/></td>
        </tr>
    }
}
