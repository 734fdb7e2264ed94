//! One node (a definition): its page, and the form that creates or edits it with the same
//! validation as the API (a refusal is shown next to the field it is about).

use leptos::either::Either;
use leptos::prelude::*;
use leptos::task::spawn_local;
use leptos_router::hooks::{use_navigate, use_params_map};

use crate::api::{
    create_node, fetch_calendars, fetch_node, fetch_resource_groups, put_node, set_scheduling,
};
use crate::components::context::{Dialog, NodeTarget, Ui, node_href};
use crate::components::form::{TextField, field_error, form_error, text_field};
use crate::components::node_actions::NodeActionsButton;
use crate::error::AppError;
use crate::i18n::{Locale, td_string};
use crate::lang::locale;
use crate::model::url_encode;
use crate::nodes::{self, DependsOnPrevious, NodeSpec, NodeView, Scheduling};
use crate::pages::node_history::{Compare, NodeHistory};
use crate::people::Actor;
use crate::reason::Reason;
use crate::rules::{self, Permission};
use crate::schedule_words::describe;

/// Whether the actor may run the node (test, backfill) or change it (edit, pause), and if not,
/// why, in the page's language: the same rules the server applies.
fn why_not(l: Locale, actor: Option<&Actor>, permission: Permission<'_>) -> Option<String> {
    let Some(actor) = actor else {
        return Some(td_string!(l, tasks.node.signing_in).to_string());
    };
    rules::authorize(actor, permission).err().map(|denial| denial.describe(l))
}

fn name_param() -> Memo<String> {
    let params = use_params_map();
    Memo::new(move |_| params.with(|p| p.get("name").unwrap_or_default()))
}

#[component]
pub fn NodePage() -> impl IntoView {
    let l = locale();
    let ui = Ui::get();
    let name = name_param();
    let node = Resource::new(move || (name.get(), ui.tick.get()), |(name, _)| fetch_node(name));
    // The history's chosen comparison outlives the page's refreshes (every change of instances).
    let compare: Compare = RwSignal::new(None);
    view! {
        <section class="page">
            <Transition fallback=move || view! { <p class="loading">{td_string!(l, tasks.node.loading)}</p> }>
                {move || Suspend::new(async move {
                    match node.await {
                        Ok(view_of) => Either::Left(view! { <NodeDetail view_of compare/> }),
                        Err(e) => Either::Right(view! { <p class="error" role="alert">{e.describe(l)}</p> }),
                    }
                })}
            </Transition>
        </section>
    }
}

#[component]
fn NodeDetail(view_of: NodeView, compare: Compare) -> impl IntoView {
    let l = locale();
    let ui = Ui::get();
    let spec = view_of.node.spec.clone();
    let target =
        NodeTarget { name: spec.name.clone(), owner: spec.owner.clone(), paused: spec.paused };
    let owner = target.owner.clone();
    let refusal = move |change: bool| {
        let actor = ui.actor();
        let permission = if change {
            Permission::Define { owner: &owner }
        } else {
            Permission::OperateOn { owner: &owner }
        };
        why_not(l, actor.as_ref(), permission)
    };
    let name = spec.name.clone();
    let paused = spec.paused;
    let toggle = move |_| {
        let name = name.clone();
        spawn_local(async move {
            match set_scheduling(name.clone(), Scheduling::of(!paused)).await {
                Ok(_) => {
                    let text = if paused {
                        td_string!(l, tasks.node.scheduling_resumed, name = &name)
                    } else {
                        td_string!(l, tasks.node.scheduling_paused, name = &name)
                    };
                    ui.toast(text, false);
                    ui.refresh();
                }
                Err(e) => ui.toast(e.describe(l), true),
            }
        });
    };
    let links = |names: &[String]| {
        if names.is_empty() {
            return Either::Left(
                view! { <span class="muted">{td_string!(l, tasks.node.none)}</span> },
            );
        }
        Either::Right(
            names
                .iter()
                .map(|n| view! { <a class="node-link" href=node_href(n)>{n.clone()}</a> })
                .collect_view(),
        )
    };
    let test_name = spec.name.clone();
    let edit_name = spec.name.clone();
    let backfill_name = spec.name.clone();
    let run_refused = Signal::derive({
        let refusal = refusal.clone();
        move || refusal(false)
    });
    let change_refused = Signal::derive(move || refusal(true));
    view! {
        <div class="page-head">
            <h1>{spec.name.clone()}<span class="muted">{td_string!(l, tasks.node.title_suffix)}</span></h1>
            <div class="head-actions">
                {if spec.paused {
                    Either::Left(view! { <span class="badge paused">{td_string!(l, common.state.paused_badge)}</span> })
                } else {
                    Either::Right(view! { <span class="badge state-success">{td_string!(l, tasks.node.scheduling_normally)}</span> })
                }}
                <a class="button" href=format!("/cycle?state=any&node={}", url_encode(&spec.name))>{td_string!(l, tasks.node.instances)}</a>
                <button type="button" data-node-action="test" title=run_refused disabled=move || run_refused.get().is_some()
                    on:click=move |_| ui.dialog.set(Some(Dialog::Test { node: Some(test_name.clone()), workflow: None }))>{td_string!(l, tasks.node.test)}</button>
                <button type="button" data-node-action="backfill" title=run_refused disabled=move || run_refused.get().is_some()
                    on:click=move |_| ui.dialog.set(Some(Dialog::Backfill { node: backfill_name.clone() }))>{td_string!(l, tasks.node.backfill)}</button>
                <button type="button" data-node-action="pause" title=change_refused disabled=move || change_refused.get().is_some() on:click=toggle>
                    {if paused { td_string!(l, tasks.node.resume_scheduling) } else { td_string!(l, tasks.node.pause_scheduling) }}
                </button>
                <Show when=move || change_refused.get().is_none()>
                    <a class="button" href=format!("{}/edit", node_href(&edit_name))>{td_string!(l, tasks.node.edit)}</a>
                </Show>
                <NodeActionsButton target=NodeTarget { name: spec.name.clone(), owner: spec.owner.clone(), paused: spec.paused }/>
            </div>
        </div>
        <div class="card">
            <dl class="properties">
                <dt>{td_string!(l, tasks.node.field.workflow)}</dt><dd><a href=format!("/tasks?workflow={}", url_encode(&spec.workflow))>{spec.workflow.clone()}</a></dd>
                <dt>{td_string!(l, tasks.node.field.owner)}</dt><dd>{spec.owner.clone()}</dd>
                // The words are made here, in the page's language (the server's `schedule_words`
                // are English, for the REST API).
                <dt>{td_string!(l, tasks.node.field.schedule)}</dt><dd>{describe(l, &spec.schedule)}<span class="muted mono">{td_string!(l, tasks.node.schedule_expr, expr = spec.schedule.clone())}</span></dd>
                <dt>{td_string!(l, tasks.node.field.command)}</dt><dd><pre class="command">{spec.command.clone()}</pre></dd>
                <dt>{td_string!(l, tasks.node.field.upstream)}</dt><dd class="node-links">{links(&spec.upstream)}</dd>
                <dt>{td_string!(l, tasks.node.field.downstream)}</dt><dd class="node-links">{links(&view_of.downstream)}</dd>
                <dt>{td_string!(l, tasks.node.field.depends_on_previous)}</dt><dd class="node-links" data-field="depends_on_previous">{match &spec.depends_on_previous {
                    DependsOnPrevious::None => Either::Left(view! { <span class="muted">{td_string!(l, tasks.node.previous_none)}</span> }.into_any()),
                    DependsOnPrevious::Own => Either::Left(view! { <span>{td_string!(l, tasks.node.previous_self)}</span> }.into_any()),
                    DependsOnPrevious::Children => Either::Left(view! { <span>{td_string!(l, tasks.node.previous_children)}</span> }.into_any()),
                    DependsOnPrevious::Nodes(names) => Either::Right(view! { <span>{td_string!(l, tasks.node.previous_nodes)}</span>{links(names)} }),
                }}</dd>
                <dt>{td_string!(l, tasks.node.field.resource_group)}</dt><dd>{spec.resource_group.clone()}</dd>
                <dt>{td_string!(l, tasks.node.field.calendar)}</dt><dd data-field="calendar">{match spec.calendar.clone() {
                    Some(name) => Either::Left(view! { <a href=format!("/calendars#calendar-{name}")>{name.clone()}</a> }),
                    None => Either::Right(view! { <span class="muted">{td_string!(l, tasks.node.calendar_none)}</span> }),
                }}</dd>
                <dt>{td_string!(l, tasks.node.field.timeout)}</dt><dd>{td_string!(l, tasks.node.seconds, s = spec.timeout_secs)}</dd>
                <dt>{td_string!(l, tasks.node.field.retries)}</dt><dd>{td_string!(l, tasks.node.retries_value, retries = spec.retries, delay = spec.retry_delay_secs)}</dd>
                <dt>{td_string!(l, tasks.node.field.scheduling_status)}</dt><dd>{if spec.paused { td_string!(l, tasks.node.status_paused) } else { td_string!(l, tasks.node.status_normal) }}</dd>
                <dt>{td_string!(l, tasks.node.field.version)}</dt><dd data-field="version">{format!("v{}", view_of.node.version)}</dd>
            </dl>
        </div>
        <NodeHistory name=spec.name.clone() refused=change_refused compare/>
    }
}

/// The form, for a new node (`/tasks/new`) or an existing one (`/tasks/{name}/edit`).
#[component]
pub fn NodeFormPage(editing: bool) -> impl IntoView {
    let l = locale();
    let ui = Ui::get();
    let name = name_param();
    let existing = Resource::new(
        move || (editing, name.get()),
        |(editing, name)| async move {
            if editing { fetch_node(name).await.map(|v| Some(v.node.spec)) } else { Ok(None) }
        },
    );
    let groups = Resource::new(|| (), |_| fetch_resource_groups());
    let calendars = Resource::new(|| (), |_| fetch_calendars());
    view! {
        <section class="page">
            <div class="page-head"><h1>{if editing { td_string!(l, tasks.form.title_edit) } else { td_string!(l, tasks.form.title_new) }}</h1></div>
            <Transition fallback=move || view! { <p class="loading">{td_string!(l, common.loading)}</p> }>
                {move || Suspend::new(async move {
                    let groups: Vec<String> = groups.await.unwrap_or_default().into_iter().map(|g| g.name).collect();
                    let calendars: Vec<String> = calendars.await.unwrap_or_default().into_iter().map(|c| c.name).collect();
                    match existing.await {
                        Ok(spec) => {
                            let owner = ui.actor().map(|a| a.name).unwrap_or_default();
                            Either::Left(view! { <NodeForm spec owner groups calendars/> })
                        }
                        Err(e) => Either::Right(view! { <p class="error" role="alert">{e.describe(l)}</p> }),
                    }
                })}
            </Transition>
        </section>
    }
}

/// The fields of the node form (a refusal about another shows at its top).
const NODE_FIELDS: &[&str] = &[
    "name",
    "workflow",
    "owner",
    "command",
    "schedule",
    "upstream",
    "resource_group",
    "timeout_secs",
    "retries",
    "retry_delay_secs",
    "depends_on_previous",
    "calendar",
];

#[component]
fn NodeForm(
    spec: Option<NodeSpec>,
    owner: String,
    groups: Vec<String>,
    calendars: Vec<String>,
) -> impl IntoView {
    let l = locale();
    let navigate = use_navigate();
    let creating = spec.is_none();
    let start = spec.unwrap_or(NodeSpec {
        name: String::new(),
        workflow: nodes::DEFAULT_WORKFLOW.into(),
        owner,
        command: String::new(),
        schedule: nodes::DEFAULT_SCHEDULE.into(),
        upstream: Vec::new(),
        resource_group: nodes::DEFAULT_RESOURCE_GROUP.into(),
        timeout_secs: nodes::DEFAULT_TIMEOUT_SECS,
        retries: 0,
        retry_delay_secs: nodes::DEFAULT_RETRY_DELAY_SECS,
        paused: false,
        depends_on_previous: DependsOnPrevious::None,
        calendar: None,
    });
    let text = |v: &str| RwSignal::new(v.to_string());
    let (name, workflow, owner, command, schedule) = (
        text(&start.name),
        text(&start.workflow),
        text(&start.owner),
        text(&start.command),
        text(&start.schedule),
    );
    let upstream = text(&start.upstream.join(", "));
    let previous = text(&start.depends_on_previous.to_text());
    let group = text(&start.resource_group);
    let calendar = text(start.calendar.as_deref().unwrap_or_default());
    let (timeout, retries, delay) = (
        text(&start.timeout_secs.to_string()),
        text(&start.retries.to_string()),
        text(&start.retry_delay_secs.to_string()),
    );
    let paused = RwSignal::new(start.paused);
    let error = RwSignal::new(None::<AppError>);
    let busy = RwSignal::new(false);
    // "timeout secs must be a whole number" and the like.
    let number = move |field: &'static str, value: String| {
        value
            .trim()
            .parse::<u32>()
            .map_err(|_| AppError::because(Reason::WholeNumber { field: field.to_string() }))
    };
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let spec = (|| -> Result<NodeSpec, AppError> {
            Ok(NodeSpec {
                name: name.get_untracked().trim().to_string(),
                workflow: workflow.get_untracked().trim().to_string(),
                owner: owner.get_untracked().trim().to_string(),
                command: command.get_untracked(),
                schedule: schedule.get_untracked().trim().to_string(),
                upstream: upstream
                    .get_untracked()
                    .split(',')
                    .map(|u| u.trim().to_string())
                    .filter(|u| !u.is_empty())
                    .collect(),
                resource_group: group.get_untracked(),
                timeout_secs: number("timeout_secs", timeout.get_untracked())?,
                retries: number("retries", retries.get_untracked())?,
                retry_delay_secs: number("retry_delay_secs", delay.get_untracked())?,
                paused: paused.get_untracked(),
                depends_on_previous: DependsOnPrevious::from_text(&previous.get_untracked()),
                calendar: Some(calendar.get_untracked()).filter(|c| !c.is_empty()),
            })
        })();
        let spec = match spec {
            Ok(spec) => spec,
            Err(e) => return error.set(Some(e)),
        };
        let navigate = navigate.clone();
        busy.set(true);
        spawn_local(async move {
            let saved = if creating {
                create_node(spec).await
            } else {
                put_node(spec.name.clone(), spec).await.map(|saved| saved.node)
            };
            match saved {
                Ok(node) => navigate(&node_href(&node.spec.name), Default::default()),
                Err(e) => error.set(Some(e)),
            }
            busy.set(false);
        });
    };
    // A refusal shows next to its field; one about none of them shows at the top.
    let input = move |label, field, value, hint| {
        let readonly = field == "name" && !creating;
        text_field(l, error, value, TextField { form: "node", label, field, hint, readonly })
    };
    view! {
        <form class="card node-form" on:submit=submit>
            {form_error(l, error, NODE_FIELDS)}
            {input(td_string!(l, tasks.form.name), "name", name, td_string!(l, tasks.form.name_hint))}
            {input(td_string!(l, tasks.form.workflow), "workflow", workflow, "")}
            {input(td_string!(l, tasks.form.owner), "owner", owner, "")}
            <div class="form-field">
                <label for="node-command">{td_string!(l, tasks.form.command)}</label>
                <textarea id="node-command" name="command" rows="4" prop:value=move || command.get() on:input=move |ev| command.set(event_target_value(&ev))
                    placeholder=td_string!(l, tasks.form.command_hint)></textarea>
                {field_error(l, error, "command")}
            </div>
            <div class="form-field">
                <label for="node-schedule">{td_string!(l, tasks.form.schedule)}</label>
                <input id="node-schedule" name="schedule" prop:value=move || schedule.get() on:input=move |ev| schedule.set(event_target_value(&ev))/>
                <p class="muted hint">{move || describe(l, &schedule.get())}</p>
                {field_error(l, error, "schedule")}
            </div>
            {input(td_string!(l, tasks.form.upstream), "upstream", upstream, td_string!(l, tasks.form.upstream_hint))}
            {input(td_string!(l, tasks.form.depends_on_previous), "depends_on_previous", previous, td_string!(l, tasks.form.depends_on_previous_hint))}
            <div class="form-field">
                <label for="node-resource_group">{td_string!(l, tasks.form.resource_group)}</label>
                <select id="node-resource_group" name="resource_group" on:change=move |ev| group.set(event_target_value(&ev))>
                    {groups.into_iter().map(|g| {
                        let selected = g == group.get_untracked();
                        view! { <option value=g.clone() selected=selected>{g.clone()}</option> }
                    }).collect_view()}
                </select>
                {field_error(l, error, "resource_group")}
            </div>
            <div class="form-field">
                <label for="node-calendar">{td_string!(l, tasks.form.calendar)}</label>
                <select id="node-calendar" name="calendar" on:change=move |ev| calendar.set(event_target_value(&ev))>
                    <option value="" selected=calendar.get_untracked().is_empty()>{td_string!(l, tasks.form.calendar_none)}</option>
                    {calendars.into_iter().map(|c| {
                        let selected = c == calendar.get_untracked();
                        view! { <option value=c.clone() selected=selected>{c.clone()}</option> }
                    }).collect_view()}
                </select>
                <p class="muted hint">{td_string!(l, tasks.form.calendar_hint)}</p>
                {field_error(l, error, "calendar")}
            </div>
            <div class="form-row three">
                {input(td_string!(l, tasks.form.timeout), "timeout_secs", timeout, "")}
                {input(td_string!(l, tasks.form.retries), "retries", retries, "")}
                {input(td_string!(l, tasks.form.retry_delay), "retry_delay_secs", delay, "")}
            </div>
            <label class="check"><input type="checkbox" prop:checked=move || paused.get() on:change=move |ev| paused.set(event_target_checked(&ev))/>{td_string!(l, tasks.form.paused)}</label>
            <div class="buttons">
                <a class="button" href=if creating { "/tasks".to_string() } else { node_href(&start.name) }>{td_string!(l, common.button.cancel)}</a>
                <button type="submit" class="primary" disabled=move || busy.get()>{if creating { td_string!(l, tasks.form.create) } else { td_string!(l, common.button.save) }}</button>
            </div>
        </form>
    }
}
