//! The operations of one instance: the right-click menu (also opened by each row's actions
//! button), and the dialogs that preview an operation (a dry run) before it is confirmed. What
//! is enabled is decided by `app::rules`, exactly as the server decides.

use std::collections::BTreeSet;

use leptos::either::{Either, EitherOf3};
use leptos::prelude::*;
use leptos::task::spawn_local;
use leptos_router::hooks::use_navigate;

use super::context::{Dialog, MenuAt, Target, Ui, detail_href, log_href};
use super::modal::Modal;
use super::node_actions::{BackfillDialog, TestDialog};
use super::state_badge::StateBadge;
use crate::api::{fetch_descendants, run_batch, run_operation, run_rerun_downstream};
use crate::error::AppError;
use crate::i18n::{Locale, td_string};
use crate::lang::locale;
use crate::model::{InstanceId, MAX_DESCENDANTS};
use crate::people::Actor;
use crate::report::{BatchKind, BatchRequest, Mode, Report, RerunDownstreamRequest};
use crate::rules::{self, Facts, Operation};

/// Whether `actor` may do `op` on `target` now, and if not, why: the role, then the state, as
/// the server decides; the reason in the language `l`.
pub fn availability(
    l: Locale,
    actor: Option<&Actor>,
    target: &Target,
    op: Operation,
) -> Result<(), String> {
    let facts = Facts { state: target.state, paused: target.paused };
    let actor = actor.ok_or_else(|| td_string!(l, actions.signing_in).to_string())?;
    rules::judge(actor, &target.owner, op, facts).map_err(|objection| objection.describe(l))
}

/// Opens the menu for `target` at the pointer (right-click) or under an element.
pub fn open_menu(target: Target, x: i32, y: i32) {
    Ui::get().menu.set(Some(MenuAt { target, x, y }));
}

/// The "⋯" button of a row or a page: the keyboard way to the same menu.
#[component]
pub fn ActionsButton(target: Target) -> impl IntoView {
    let l = locale();
    let label = td_string!(l, actions.menu.button_label, node = &target.node, id = target.id);
    let ui = Ui::get();
    let open = move |ev: leptos::ev::MouseEvent| {
        ev.stop_propagation();
        let (x, y) = button_corner(&ev);
        ui.menu.set(Some(MenuAt { target: target.clone(), x, y }));
    };
    view! {
        <button type="button" class="actions-button" aria-haspopup="menu" aria-label=label on:click=open>
            "⋯"
        </button>
    }
}

fn button_corner(ev: &leptos::ev::MouseEvent) -> (i32, i32) {
    #[cfg(feature = "hydrate")]
    {
        use wasm_bindgen::JsCast;
        if let Some(element) =
            ev.current_target().and_then(|t| t.dyn_into::<web_sys::Element>().ok())
        {
            let rect = element.get_bounding_client_rect();
            return (rect.left() as i32, rect.bottom() as i32 + 2);
        }
    }
    (ev.client_x(), ev.client_y())
}

/// The one menu of the page, wherever it was opened.
#[component]
pub fn ActionMenu() -> impl IntoView {
    let l = locale();
    let ui = Ui::get();
    let navigate = use_navigate();
    let close = move || ui.menu.set(None);
    // Escape closes whatever is open on top of the page: either menu, or a dialog.
    let _ = window_event_listener(leptos::ev::keydown, move |ev| {
        if ev.key() == "Escape" {
            ui.menu.set(None);
            ui.node_menu.set(None);
            ui.dialog.set(None);
        }
    });
    move || {
        let MenuAt { target, x, y } = ui.menu.get()?;
        let actor = ui.actor();
        let navigate = navigate.clone();
        // What the role may never do is not offered at all (a viewer sees the two ways to
        // look); what it may do elsewhere but not here is greyed out with the reason.
        let may_operate = actor.as_ref().is_some_and(rules::may_operate);
        let items = Operation::ALL
            .into_iter()
            .filter(|op| !op.changes_state() || may_operate)
            .map(|op| {
                let allowed = availability(l, actor.as_ref(), &target, op);
                let reason = allowed.clone().err();
                let why = reason.clone();
                let enabled = allowed.is_ok();
                let target = target.clone();
                let navigate = navigate.clone();
                let choose = move |_| {
                    if !enabled {
                        return;
                    }
                    close();
                    match op {
                        Operation::ViewLog => navigate(&log_href(target.id), Default::default()),
                        Operation::ViewProperties => {
                            navigate(&detail_href(target.id), Default::default())
                        }
                        Operation::RerunDownstream => {
                            ui.dialog.set(Some(Dialog::RerunDownstream { target: target.clone() }))
                        }
                        op => ui.dialog.set(Some(Dialog::Operation { target: target.clone(), op })),
                    }
                };
                view! {
                    <li role="none">
                        <button
                            type="button"
                            role="menuitem"
                            data-op=op.as_str()
                            aria-disabled=(!enabled).then_some("true")
                            class:disabled=!enabled
                            title=reason.clone()
                            on:click=choose
                        >
                            <span class="label">{op.label(l)}</span>
                            {why.map(|r| view! { <span class="reason">{r}</span> })}
                        </button>
                    </li>
                }
            })
            .collect_view();
        Some(view! {
            <div class="menu-backdrop" on:click=move |_| close() on:contextmenu=move |ev| {
                ev.prevent_default();
                close();
            }></div>
            <ul
                class="menu"
                role="menu"
                aria-label=td_string!(l, actions.menu.label, node = &target.node)
                style=menu_position(x, y)
            >
                <li class="menu-title" role="presentation">
                    {target.node.clone()}
                    <span class="muted">" #"{target.id.0}</span>
                </li>
                {items}
            </ul>
        })
    }
}

/// Where the menu goes: at the pointer, opening upwards in the lower half of the window and
/// leftwards near its right edge, so it never leaves the screen.
fn menu_position(x: i32, y: i32) -> String {
    let (width, height) = window_size();
    let horizontal = if x > width - 380 {
        format!("right: {}px", (width - x).max(4))
    } else {
        format!("left: {}px", x.max(4))
    };
    let vertical = if y > height / 2 {
        format!("bottom: {}px", (height - y).max(4))
    } else {
        format!("top: {}px", y.max(4))
    };
    format!("{horizontal}; {vertical}")
}

fn window_size() -> (i32, i32) {
    #[cfg(feature = "hydrate")]
    {
        let window = window();
        let size = |v: Result<wasm_bindgen::JsValue, wasm_bindgen::JsValue>| {
            v.ok().and_then(|v| v.as_f64()).unwrap_or(800.0) as i32
        };
        (size(window.inner_width()), size(window.inner_height()))
    }
    #[cfg(not(feature = "hydrate"))]
    (1280, 800)
}

/// Whichever dialog is open.
#[component]
pub fn Dialogs() -> impl IntoView {
    let ui = Ui::get();
    // The dialogs come in a chunk of their own, fetched the first time one opens: nobody needs
    // them to read a list.
    view! {
        <Suspense fallback=|| ()>
            {move || ui.dialog.get().map(|dialog| Suspend::new(async move { dialog_view(dialog).await }))}
        </Suspense>
    }
}

/// The view of one dialog: a split point of the browser bundle.
#[lazy]
fn dialog_view(dialog: Dialog) -> AnyView {
    match dialog {
        Dialog::Operation { target, op } => view! { <OperationDialog target op/> }.into_any(),
        Dialog::RerunDownstream { target } => view! { <RerunDownstreamDialog target/> }.into_any(),
        Dialog::Batch { kind, request, label } => {
            view! { <BatchDialog kind request label/> }.into_any()
        }
        Dialog::Test { node, workflow } => view! { <TestDialog node workflow/> }.into_any(),
        Dialog::Backfill { node } => view! { <BackfillDialog node/> }.into_any(),
    }
}

/// What an operation will do (or did): changes, refusals, downstream.
#[component]
pub fn ReportView(report: Report) -> impl IntoView {
    const SHOWN: usize = 30;
    let l = locale();
    let changes = report.changes.len();
    let refused: Vec<(String, String)> =
        report.refused(l).map(|(id, e)| (id.to_string(), e)).collect();
    let downstream = report.downstream.len();
    // "2 instances will change, 1 refused, 1 downstream will be scheduled again.": the first
    // clause with its count in bold, then the others.
    let first = match (report.dry_run, changes == 1) {
        (true, true) => td_string!(l, actions.report.will_change_singular, count = changes),
        (true, false) => td_string!(l, actions.report.will_change_plural, count = changes),
        (false, true) => td_string!(l, actions.report.changed_singular, count = changes),
        (false, false) => td_string!(l, actions.report.changed_plural, count = changes),
    };
    let count = changes.to_string();
    let (before, after) = match first.split_once(&count) {
        Some((before, after)) => (before.to_string(), after.to_string()),
        None => (String::new(), first.clone()),
    };
    let bold = first.contains(&count).then_some(count);
    let mut rest = String::new();
    let separator = td_string!(l, actions.report.clause_separator);
    if !refused.is_empty() {
        rest.push_str(separator);
        rest.push_str(&td_string!(l, actions.report.refused_count, count = refused.len()));
    }
    if downstream > 0 {
        rest.push_str(separator);
        rest.push_str(&td_string!(l, actions.report.downstream_count, count = downstream));
    }
    rest.push_str(td_string!(l, actions.report.full_stop));
    view! {
        <div class="report">
            <p class="summary">
                {before}
                {bold.map(|count| view! { <strong>{count}</strong> })}
                {after}
                {rest}
            </p>
            {(changes > 0)
                .then(|| {
                    view! {
                        <table class="compact changes">
                            <thead>
                                <tr>
                                    <th>{td_string!(l, actions.report.col_id)}</th>
                                    <th>{td_string!(l, actions.report.col_node)}</th>
                                    <th>{td_string!(l, actions.report.col_from)}</th>
                                    <th>{td_string!(l, actions.report.col_to)}</th>
                                </tr>
                            </thead>
                            <tbody>
                                {report
                                    .changes
                                    .iter()
                                    .take(SHOWN)
                                    .map(|c| {
                                        view! {
                                            <tr>
                                                <td class="mono">{c.id.0}</td>
                                                <td>{c.node.clone()}</td>
                                                <td><StateBadge state=c.from/></td>
                                                <td><StateBadge state=c.to paused=c.paused/></td>
                                            </tr>
                                        }
                                    })
                                    .collect_view()}
                            </tbody>
                        </table>
                        {(changes > SHOWN).then(|| view! {
                            <p class="muted">{td_string!(l, actions.report.and_more, count = changes - SHOWN)}</p>
                        })}
                    }
                })}
            {(!refused.is_empty())
                .then(|| {
                    view! {
                        <h3>{td_string!(l, actions.report.refused)}</h3>
                        <ul class="refusals">
                            {refused
                                .iter()
                                .take(SHOWN)
                                .map(|(id, e)| view! { <li><span class="mono">"#"{id.clone()}</span>" "{e.clone()}</li> })
                                .collect_view()}
                        </ul>
                    }
                })}
            {(downstream > 0)
                .then(|| {
                    view! {
                        <h3>{td_string!(l, actions.report.downstream)}</h3>
                        <ul class="downstream">
                            {report
                                .downstream
                                .iter()
                                .take(SHOWN)
                                .map(|d| view! { <li>{d.node.clone()}<span class="muted">" #"{d.id.0}</span></li> })
                                .collect_view()}
                        </ul>
                    }
                })}
        </div>
    }
}

/// Preview → confirm → done, for one operation on one instance.
#[component]
fn OperationDialog(target: Target, op: Operation) -> impl IntoView {
    let l = locale();
    let ui = Ui::get();
    let id = target.id;
    let preview = LocalResource::new(move || run_operation(id, op, Mode::DryRun));
    let busy = RwSignal::new(false);
    let error = RwSignal::new(None::<String>);
    let node = target.node.clone();
    let confirm = move |_| {
        busy.set(true);
        let node = node.clone();
        spawn_local(async move {
            match run_operation(id, op, Mode::Apply).await {
                Ok(_) => {
                    ui.dialog.set(None);
                    ui.toast(
                        td_string!(l, actions.operation.done, operation = op.label(l), node, id),
                        false,
                    );
                    ui.refresh();
                }
                Err(e) => error.set(Some(e.describe(l))),
            }
            busy.set(false);
        });
    };
    let title = td_string!(
        l,
        actions.operation.title,
        operation = capitalized(op.label(l)),
        node = &target.node,
        id = target.id
    );
    view! {
        <Modal title>
            <Suspense fallback=move || view! { <p class="loading">{td_string!(l, actions.operation.working)}</p> }>
                {move || Suspend::new(async move {
                    match preview.await {
                        Ok(report) => Some(view! { <ReportView report/> }),
                        Err(e) => {
                            error.set(Some(e.describe(l)));
                            None
                        }
                    }
                })}
            </Suspense>
            {move || error.get().map(|e| view! { <p class="error" role="alert">{e}</p> })}
            <div class="buttons">
                <button type="button" on:click=move |_| ui.dialog.set(None)>{td_string!(l, common.button.cancel)}</button>
                <button
                    type="button"
                    class="primary"
                    data-confirm=op.as_str()
                    disabled=move || busy.get() || error.get().is_some() || preview.get().is_none()
                    on:click=confirm
                >
                    {capitalized(op.label(l))}
                </button>
            </div>
        </Modal>
    }
}

fn capitalized(text: &str) -> String {
    let mut chars = text.chars();
    chars.next().map(|c| c.to_uppercase().collect::<String>() + chars.as_str()).unwrap_or_default()
}

/// The checked-downstream dialog: the root and its descendants with checkboxes. A selection
/// with an ineligible instance shows the seed's message and cannot be submitted.
#[component]
fn RerunDownstreamDialog(target: Target) -> impl IntoView {
    let l = locale();
    let ui = Ui::get();
    let root = target.id;
    let family = LocalResource::new(move || fetch_descendants(root));
    let checked = RwSignal::new(BTreeSet::<InstanceId>::new());
    let rows = RwSignal::new(Vec::<(InstanceId, String, crate::model::InstanceState, bool)>::new());
    let loaded = RwSignal::new(false);
    let error = RwSignal::new(None::<String>);
    let busy = RwSignal::new(false);
    let root_target = target.clone();
    Effect::new(move |_| {
        let Some(result) = family.get() else { return };
        match result {
            Ok(descendants) => {
                let mut all = vec![(
                    root_target.id,
                    root_target.node.clone(),
                    root_target.state,
                    root_target.paused,
                )];
                all.extend(
                    descendants.items.iter().map(|i| (i.id, i.node.clone(), i.state, i.paused)),
                );
                // Everything eligible starts checked.
                let eligible = rules::allowed_states(Operation::RerunDownstream);
                checked.set(all.iter().filter(|r| eligible.contains(&r.2)).map(|r| r.0).collect());
                rows.set(all);
            }
            Err(e) => error.set(Some(e.describe(l))),
        }
        loaded.set(true);
    });
    // The same check the server makes, on what the dialog shows; a refusal names the checked
    // instances it is about (by node) and marks their rows.
    let refusal = Memo::new(move |_| {
        let ids: Vec<InstanceId> = checked.with(|c| c.iter().copied().collect());
        rows.with(|rows| {
            let state_of = |id| rows.iter().find(|r| r.0 == id).map(|r| r.2);
            rules::check_selection(&ids, MAX_DESCENDANTS as usize, state_of).err()
        })
    });
    let selection_error = move || {
        refusal.get().map(|refusal| {
            rows.with(|rows| {
                let node_of = |id: InstanceId| rows.iter().find(|r| r.0 == id).map(|r| r.1.clone());
                refusal.describe_with(l, &node_of)
            })
        })
    };
    let refused_row =
        move |id: InstanceId| refusal.with(|r| r.as_ref().is_some_and(|r| r.ids().contains(&id)));
    // What the checked instances would change, as every other operation previews it: a dry run
    // of the same request, again whenever the selection changes (and is one the rules accept).
    let preview = LocalResource::new(move || {
        let ids: Vec<InstanceId> = checked.with(|c| c.iter().copied().collect());
        let acceptable = loaded.get() && refusal.with(Option::is_none);
        async move {
            if !acceptable {
                return None;
            }
            let request = RerunDownstreamRequest { instance_ids: ids, dry_run: true };
            Some(run_rerun_downstream(root, request).await)
        }
    });
    let submit = move |_| {
        let ids: Vec<InstanceId> = checked.get_untracked().into_iter().collect();
        busy.set(true);
        spawn_local(async move {
            let request = RerunDownstreamRequest { instance_ids: ids.clone(), dry_run: false };
            match run_rerun_downstream(root, request).await {
                Ok(_) => {
                    ui.dialog.set(None);
                    ui.toast(
                        td_string!(l, actions.rerun_downstream.started, count = ids.len()),
                        false,
                    );
                    ui.refresh();
                }
                Err(e) => error.set(Some(e.describe(l))),
            }
            busy.set(false);
        });
    };
    let title = td_string!(l, actions.rerun_downstream.title, node = &target.node, id = target.id);
    view! {
        <Modal title>
            <p class="muted">{td_string!(l, actions.rerun_downstream.hint)}</p>
            <Show
                when=move || loaded.get()
                fallback=move || view! { <p class="loading">{td_string!(l, actions.rerun_downstream.loading)}</p> }
            >
                <div class="checklist">
                    <For each=move || rows.get() key=|r| r.0 let:row>
                        {
                            let id = row.0;
                            view! {
                                <label
                                    class="check-row"
                                    data-instance-id=id.0
                                    class:ineligible=move || refused_row(id)
                                    data-ineligible=move || refused_row(id).then_some("true")
                                >
                                    <input
                                        type="checkbox"
                                        prop:checked=move || checked.with(|c| c.contains(&id))
                                        on:change=move |ev| {
                                            let on = event_target_checked(&ev);
                                            checked.update(|c| {
                                                if on { c.insert(id); } else { c.remove(&id); }
                                            });
                                        }
                                    />
                                    <span class="mono">"#"{id.0}</span>
                                    <span class="node">{row.1.clone()}</span>
                                    <StateBadge state=row.2 paused=row.3/>
                                </label>
                            }
                        }
                    </For>
                </div>
            </Show>
            {move || selection_error().map(|e| view! { <p class="error selection-error" role="alert">{e}</p> })}
            <div class="preview" aria-live="polite">
                <Transition fallback=move || view! { <p class="loading">{td_string!(l, actions.operation.working)}</p> }>
                    {move || Suspend::new(async move {
                        match preview.await {
                            Some(Ok(report)) => Some(Either::Left(view! { <ReportView report/> })),
                            Some(Err(e)) => Some(Either::Right(view! { <p class="error" role="alert">{e.describe(l)}</p> })),
                            None => None,
                        }
                    })}
                </Transition>
            </div>
            {move || error.get().map(|e| view! { <p class="error" role="alert">{e}</p> })}
            <div class="buttons">
                <button type="button" on:click=move |_| ui.dialog.set(None)>{td_string!(l, common.button.cancel)}</button>
                <button
                    type="button"
                    class="primary"
                    data-confirm="rerun_downstream"
                    disabled=move || busy.get() || !loaded.get() || selection_error().is_some()
                    on:click=submit
                >
                    {move || {
                        td_string!(l, actions.rerun_downstream.submit, count = checked.with(|c| c.len()))
                    }}
                </button>
            </div>
        </Modal>
    }
}

/// Preview → confirm → per-instance results, for a batch.
#[component]
fn BatchDialog(kind: BatchKind, request: BatchRequest, label: String) -> impl IntoView {
    let l = locale();
    let ui = Ui::get();
    let preview_request = BatchRequest { dry_run: true, ..request.clone() };
    let preview = LocalResource::new(move || run_batch(kind, preview_request.clone()));
    let done = RwSignal::new(None::<Result<Report, AppError>>);
    let busy = RwSignal::new(false);
    let confirm = move |_| {
        let request = BatchRequest { dry_run: false, ..request.clone() };
        busy.set(true);
        spawn_local(async move {
            let result = run_batch(kind, request).await;
            if result.is_ok() {
                ui.refresh();
            }
            done.set(Some(result));
            busy.set(false);
        });
    };
    let (verb, batch) = match kind {
        BatchKind::Kill => (td_string!(l, common.op.kill), td_string!(l, common.op.batch_kill)),
        BatchKind::Rerun => {
            (td_string!(l, common.op.repair), td_string!(l, common.op.batch_repair))
        }
    };
    let verb = capitalized(verb);
    let title = td_string!(l, actions.batch.title, operation = capitalized(batch), label);
    view! {
        <Modal title>
            {move || match done.get() {
                Some(Ok(report)) => EitherOf3::A(view! {
                    <div class="batch-results">
                        <ReportView report/>
                        <div class="buttons">
                            <button type="button" class="primary" on:click=move |_| ui.dialog.set(None)>{td_string!(l, actions.batch.done)}</button>
                        </div>
                    </div>
                }),
                Some(Err(e)) => EitherOf3::B(view! {
                    <p class="error" role="alert">{e.describe(l)}</p>
                    <div class="buttons">
                        <button type="button" on:click=move |_| ui.dialog.set(None)>{td_string!(l, common.button.close)}</button>
                    </div>
                }),
                None => EitherOf3::C(view! {
                    <div class="batch-preview">
                        <Suspense fallback=move || view! { <p class="loading">{td_string!(l, actions.operation.working)}</p> }>
                            {move || Suspend::new(async move {
                                match preview.await {
                                    Ok(report) => Either::Left(view! { <ReportView report/> }),
                                    Err(e) => Either::Right(view! { <p class="error" role="alert">{e.describe(l)}</p> }),
                                }
                            })}
                        </Suspense>
                        <div class="buttons">
                            <button type="button" on:click=move |_| ui.dialog.set(None)>{td_string!(l, common.button.cancel)}</button>
                            <button
                                type="button"
                                class="primary"
                                data-confirm="batch"
                                disabled=move || {
                                    busy.get()
                                        || !matches!(preview.get(), Some(Ok(ref r)) if !r.changes.is_empty())
                                }
                                on:click=confirm.clone()
                            >
                                {verb.clone()}
                            </button>
                        </div>
                    </div>
                }),
            }}
        </Modal>
    }
}
