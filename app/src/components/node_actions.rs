//! What can be done with a node (a definition): test it, backfill it, edit it, pause or unpause
//! its scheduling, see its instances. The menu (right-click or ⋯) and the test and backfill
//! dialogs.

use std::collections::BTreeSet;

use leptos::either::Either;
use leptos::prelude::*;
use leptos::task::spawn_local;
use leptos_router::hooks::use_navigate;

use super::context::{Dialog, NodeTarget, Ui, node_href};
use super::modal::Modal;
use crate::api::{fetch_node, run_backfill, run_test, set_scheduling};
use crate::i18n::td_string;
use crate::jobs::{BackfillRequest, DateOrder, JobCreated, MAX_PARALLELISM, TestRequest};
use crate::lang::locale;
use crate::model::url_encode;
use crate::nodes::Scheduling;
use crate::people::Actor;
use crate::rules::{self, Permission};

/// Whether the actor may run the node (test, backfill) or change it (edit, pause), and if not,
/// why (in the page's language): the same rules the server applies.
pub fn may(actor: Option<&Actor>, permission: Permission<'_>) -> Result<(), String> {
    let l = locale();
    let actor = actor.ok_or_else(|| td_string!(l, actions.signing_in).to_string())?;
    rules::authorize(actor, permission).map_err(|denial| denial.describe(l))
}

/// The node's ⋯ button.
#[component]
pub fn NodeActionsButton(target: NodeTarget) -> impl IntoView {
    let l = locale();
    let ui = Ui::get();
    let label = td_string!(l, actions.node_menu.button_label, name = &target.name);
    let open = move |ev: leptos::ev::MouseEvent| {
        ev.stop_propagation();
        ui.node_menu.set(Some((target.clone(), ev.client_x(), ev.client_y())));
    };
    view! { <button type="button" class="actions-button" aria-haspopup="menu" aria-label=label on:click=open>"⋯"</button> }
}

pub fn open_node_menu(target: NodeTarget, x: i32, y: i32) {
    Ui::get().node_menu.set(Some((target, x, y)));
}

#[component]
pub fn NodeMenu() -> impl IntoView {
    let l = locale();
    let ui = Ui::get();
    let navigate = use_navigate();
    let close = move || ui.node_menu.set(None);
    move || {
        let (target, x, y) = ui.node_menu.get()?;
        let actor = ui.actor();
        let may_operate = actor.as_ref().is_some_and(rules::may_operate);
        let run = may(actor.as_ref(), Permission::OperateOn { owner: &target.owner });
        let change = may(actor.as_ref(), Permission::Define { owner: &target.owner });
        let navigate = navigate.clone();
        let name = target.name.clone();
        let item = move |key: &'static str, label: &'static str, allowed: Result<(), String>| {
            let reason = allowed.clone().err();
            let disabled = allowed.is_err();
            let name = name.clone();
            let navigate = navigate.clone();
            let paused = target.paused;
            let choose = move |_| {
                if disabled {
                    return;
                }
                close();
                match key {
                    "test" => ui
                        .dialog
                        .set(Some(Dialog::Test { node: Some(name.clone()), workflow: None })),
                    "backfill" => ui.dialog.set(Some(Dialog::Backfill { node: name.clone() })),
                    "edit" => navigate(&format!("{}/edit", node_href(&name)), Default::default()),
                    "pause" => {
                        let name = name.clone();
                        spawn_local(async move {
                            match set_scheduling(name.clone(), Scheduling::of(!paused)).await {
                                Ok(_) => {
                                    let text = if paused {
                                        td_string!(l, actions.node_menu.scheduling_resumed, name)
                                    } else {
                                        td_string!(l, actions.node_menu.scheduling_paused, name)
                                    };
                                    ui.toast(text, false);
                                    ui.refresh();
                                }
                                Err(e) => ui.toast(e.describe(l), true),
                            }
                        });
                    }
                    _ => navigate(
                        &format!("/cycle?state=any&node={}", url_encode(&name)),
                        Default::default(),
                    ),
                }
            };
            view! {
                <li role="none">
                    <button
                        type="button"
                        role="menuitem"
                        data-node-op=key
                        aria-disabled=disabled.then_some("true")
                        class:disabled=disabled
                        title=if disabled { reason.clone() } else { None }
                        on:click=choose
                    >
                        <span class="label">{label}</span>
                        {reason.clone().map(|r| view! { <span class="reason">{r}</span> })}
                    </button>
                </li>
            }
        };
        let pause_label = if target.paused {
            td_string!(l, actions.node_menu.resume_scheduling)
        } else {
            td_string!(l, actions.node_menu.pause_scheduling)
        };
        Some(view! {
            <div class="menu-backdrop" on:click=move |_| close() on:contextmenu=move |ev| {
                ev.prevent_default();
                close();
            }></div>
            <ul class="menu" role="menu" aria-label=td_string!(l, actions.node_menu.label, name = &target.name) style=format!("left: {}px; top: {}px", x.max(4), y.max(4))>
                <li class="menu-title" role="presentation">{target.name.clone()}</li>
                // A viewer is offered only what it may do: look at the instances.
                {may_operate.then(|| item("test", td_string!(l, actions.node_menu.test), run.clone()))}
                {may_operate.then(|| item("backfill", td_string!(l, actions.node_menu.backfill), run))}
                {may_operate.then(|| item("edit", td_string!(l, actions.node_menu.edit), change.clone()))}
                {may_operate.then(|| item("pause", pause_label, change))}
                {item("instances", td_string!(l, actions.node_menu.instances), Ok(()))}
            </ul>
        })
    }
}

/// Pick a business date, generate and run; then the link to the result.
#[component]
pub fn TestDialog(node: Option<String>, workflow: Option<String>) -> impl IntoView {
    let l = locale();
    let ui = Ui::get();
    let bizdate = RwSignal::new(String::new());
    let result = RwSignal::new(None::<Result<JobCreated, String>>);
    let busy = RwSignal::new(false);
    let title = match (&node, &workflow) {
        (Some(name), _) => td_string!(l, actions.test.title_node, name),
        (None, Some(name)) => td_string!(l, actions.test.title_workflow, name),
        (None, None) => td_string!(l, actions.test.title_nothing).to_string(),
    };
    let run = move |_| {
        let request = TestRequest {
            node: node.clone(),
            workflow: workflow.clone(),
            bizdate: bizdate.get_untracked(),
        };
        busy.set(true);
        spawn_local(async move {
            result.set(Some(run_test(request).await.map_err(|e| e.describe(l))));
            busy.set(false);
        });
    };
    view! {
        <Modal title>
            <p class="muted">{td_string!(l, actions.test.hint)}</p>
            <div class="form-row">
                <label for="test-bizdate">{td_string!(l, actions.test.bizdate)}</label>
                <input id="test-bizdate" type="date" prop:value=move || bizdate.get() on:input=move |ev| bizdate.set(event_target_value(&ev))/>
            </div>
            {move || match result.get() {
                Some(Ok(created)) => Some(Either::Left(view! {
                    <p class="ok">
                        {if created.instances == 1 {
                            td_string!(l, actions.test.started_singular, count = created.instances)
                        } else {
                            td_string!(l, actions.test.started_plural, count = created.instances)
                        }}
                    </p>
                    <p><a class="button" href=created.url.clone().unwrap_or_default() on:click=move |_| ui.dialog.set(None)>{td_string!(l, actions.test.see_result)}</a></p>
                })),
                Some(Err(e)) => Some(Either::Right(view! { <p class="error" role="alert">{e}</p> })),
                None => None,
            }}
            <div class="buttons">
                <button type="button" on:click=move |_| ui.dialog.set(None)>{td_string!(l, common.button.close)}</button>
                <button type="button" class="primary" data-confirm="test" disabled=move || busy.get() || bizdate.with(String::is_empty) || matches!(result.get(), Some(Ok(_))) on:click=run>
                    {td_string!(l, actions.test.run)}
                </button>
            </div>
        </Modal>
    }
}

/// "This node" or "this node and downstream" (checked descendants), a business-date range, the
/// order and the parallelism; a preview of the instances per date; run.
#[component]
pub fn BackfillDialog(node: String) -> impl IntoView {
    let l = locale();
    let ui = Ui::get();
    let name = node.clone();
    let view_of = LocalResource::new(move || fetch_node(name.clone()));
    let with_downstream = RwSignal::new(false);
    let checked = RwSignal::new(BTreeSet::<String>::new());
    let from = RwSignal::new(String::new());
    let to = RwSignal::new(String::new());
    let descending = RwSignal::new(false);
    let parallelism = RwSignal::new(1u32);
    let preview = RwSignal::new(None::<Result<JobCreated, String>>);
    let done = RwSignal::new(None::<Result<JobCreated, String>>);
    let busy = RwSignal::new(false);
    let request = move |dry_run: bool| BackfillRequest {
        node: node.clone(),
        downstream: if with_downstream.get_untracked() {
            checked.get_untracked().into_iter().collect()
        } else {
            Vec::new()
        },
        from: from.get_untracked(),
        to: to.get_untracked(),
        order: if descending.get_untracked() { DateOrder::Desc } else { DateOrder::Asc },
        parallelism: parallelism.get_untracked(),
        dry_run,
    };
    let request = StoredValue::new(request);
    let send = move |dry_run: bool| {
        let request = request.with_value(|r| r(dry_run));
        busy.set(true);
        spawn_local(async move {
            let answer = run_backfill(request).await.map_err(|e| e.describe(l));
            if dry_run {
                preview.set(Some(answer))
            } else {
                done.set(Some(answer))
            }
            busy.set(false);
        });
    };
    // Any change makes the last preview stale.
    Effect::new(move |_| {
        let _ = (
            with_downstream.get(),
            checked.get(),
            from.get(),
            to.get(),
            descending.get(),
            parallelism.get(),
        );
        preview.set(None);
    });
    let descendants =
        move || view_of.get().and_then(Result::ok).map(|v| v.descendants).unwrap_or_default();
    view! {
        <Modal title=td_string!(l, actions.backfill.title, node = request.with_value(|r| r(true)).node)>
            <fieldset class="choice">
                <label><input type="radio" name="scope" prop:checked=move || !with_downstream.get() on:change=move |_| with_downstream.set(false)/>{td_string!(l, actions.backfill.this_node)}</label>
                <label><input type="radio" name="scope" data-scope="downstream" prop:checked=move || with_downstream.get() on:change=move |_| with_downstream.set(true)/>{td_string!(l, actions.backfill.with_downstream)}</label>
            </fieldset>
            <Show when=move || with_downstream.get()>
                <div class="checklist">
                    {move || {
                        let all = descendants();
                        if all.is_empty() {
                            return Either::Left(view! { <p class="empty">{td_string!(l, actions.backfill.no_downstream)}</p> });
                        }
                        Either::Right(all.into_iter().map(|name| {
                            let key = name.clone();
                            view! {
                                <label class="check-row" data-node=name.clone()>
                                    <input type="checkbox" prop:checked=move || checked.with(|c| c.contains(&key)) on:change={
                                        let name = name.clone();
                                        move |ev| {
                                            let on = event_target_checked(&ev);
                                            let name = name.clone();
                                            checked.update(|c| { if on { c.insert(name); } else { c.remove(&name); } });
                                        }
                                    }/>
                                    <span class="node">{name.clone()}</span>
                                </label>
                            }
                        }).collect_view())
                    }}
                </div>
            </Show>
            <div class="form-grid">
                <label for="bf-from">{td_string!(l, actions.backfill.from)}</label>
                <input id="bf-from" type="date" prop:value=move || from.get() on:input=move |ev| from.set(event_target_value(&ev))/>
                <label for="bf-to">{td_string!(l, actions.backfill.to)}</label>
                <input id="bf-to" type="date" prop:value=move || to.get() on:input=move |ev| to.set(event_target_value(&ev))/>
                <label for="bf-order">{td_string!(l, actions.backfill.order)}</label>
                <select id="bf-order" on:change=move |ev| descending.set(event_target_value(&ev) == "desc")>
                    <option value="asc" selected=move || !descending.get()>{td_string!(l, actions.backfill.oldest_first)}</option>
                    <option value="desc" selected=move || descending.get()>{td_string!(l, actions.backfill.newest_first)}</option>
                </select>
                <label for="bf-parallelism">{td_string!(l, actions.backfill.parallelism)}</label>
                <input id="bf-parallelism" type="number" min="1" max=MAX_PARALLELISM.to_string() prop:value=move || parallelism.get().to_string()
                    on:input=move |ev| parallelism.set(event_target_value(&ev).parse().unwrap_or(0))/>
            </div>
            {move || match preview.get() {
                Some(Ok(plan)) => Some(Either::Left(view! {
                    <div class="preview">
                        <p>
                            {td_string!(
                                l,
                                actions.backfill.preview_summary,
                                instances = plan.instances,
                                dates = plan.dates.len(),
                                nodes = plan.nodes.join(td_string!(l, common.list.separator))
                            )}
                        </p>
                        <ul class="per-date">
                            {plan.dates.iter().take(31).map(|d| view! {
                                <li>
                                    <span class="mono">{d.bizdate.to_string()}</span>
                                    {td_string!(l, actions.backfill.per_date, count = d.instances)}
                                </li>
                            }).collect_view()}
                        </ul>
                    </div>
                })),
                Some(Err(e)) => Some(Either::Right(view! { <p class="error" role="alert">{e}</p> })),
                None => None,
            }}
            {move || done.get().map(|result| match result {
                Ok(created) => Either::Left(view! {
                    <p class="ok">
                        {td_string!(
                            l,
                            actions.backfill.started,
                            job = created.job.unwrap_or_default(),
                            count = created.instances
                        )}
                    </p>
                    <p><a class="button" href=created.url.clone().unwrap_or_default() on:click=move |_| ui.dialog.set(None)>{td_string!(l, actions.backfill.see_result)}</a></p>
                }),
                Err(e) => Either::Right(view! { <p class="error" role="alert">{e}</p> }),
            })}
            <div class="buttons">
                <button type="button" on:click=move |_| ui.dialog.set(None)>{td_string!(l, common.button.close)}</button>
                <button type="button" data-confirm="preview" disabled=move || busy.get() on:click=move |_| send(true)>{td_string!(l, actions.backfill.preview)}</button>
                <button type="button" class="primary" data-confirm="backfill"
                    disabled=move || busy.get() || !matches!(preview.get(), Some(Ok(_))) || matches!(done.get(), Some(Ok(_)))
                    on:click=move |_| send(false)>
                    {td_string!(l, actions.backfill.run)}
                </button>
            </div>
        </Modal>
    }
}
