//! One node (a definition): its page, and the form that creates or edits it with the same
//! validation as the API (a refusal is shown next to the field it is about).

use leptos::either::Either;
use leptos::prelude::*;
use leptos::task::spawn_local;
use leptos_router::hooks::{use_navigate, use_params_map};

use crate::api::{create_node, fetch_node, fetch_resource_groups, put_node, set_scheduling};
use crate::components::context::{Dialog, NodeTarget, Ui, node_href};
use crate::components::node_actions::{NodeActionsButton, may};
use crate::error::AppError;
use crate::model::url_encode;
use crate::nodes::{self, NodeSpec, NodeView, Scheduling};
use crate::rules::Permission;
use crate::schedule_words::describe;

fn name_param() -> Memo<String> {
    let params = use_params_map();
    Memo::new(move |_| params.with(|p| p.get("name").unwrap_or_default()))
}

#[component]
pub fn NodePage() -> impl IntoView {
    let ui = Ui::get();
    let name = name_param();
    let node = Resource::new(move || (name.get(), ui.tick.get()), |(name, _)| fetch_node(name));
    view! {
        <section class="page">
            <Transition fallback=|| view! { <p class="loading">"Loading the node…"</p> }>
                {move || Suspend::new(async move {
                    match node.await {
                        Ok(view_of) => Either::Left(view! { <NodeDetail view_of/> }),
                        Err(e) => Either::Right(view! { <p class="error" role="alert">{e.message}</p> }),
                    }
                })}
            </Transition>
        </section>
    }
}

#[component]
fn NodeDetail(view_of: NodeView) -> impl IntoView {
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
        may(actor.as_ref(), permission).err()
    };
    let name = spec.name.clone();
    let paused = spec.paused;
    let toggle = move |_| {
        let name = name.clone();
        spawn_local(async move {
            match set_scheduling(name.clone(), Scheduling::of(!paused)).await {
                Ok(_) => {
                    ui.toast(
                        format!("{name}: scheduling {}", if paused { "resumed" } else { "paused" }),
                        false,
                    );
                    ui.refresh();
                }
                Err(e) => ui.toast(e.message, true),
            }
        });
    };
    let links = |names: &[String]| {
        if names.is_empty() {
            return Either::Left(view! { <span class="muted">"none"</span> });
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
            <h1>{spec.name.clone()}<span class="muted">" · node"</span></h1>
            <div class="head-actions">
                {if spec.paused {
                    Either::Left(view! { <span class="badge paused">"‖ paused"</span> })
                } else {
                    Either::Right(view! { <span class="badge state-success">"scheduling normally"</span> })
                }}
                <a class="button" href=format!("/cycle?state=any&node={}", url_encode(&spec.name))>"Instances"</a>
                <button type="button" data-node-action="test" title=run_refused disabled=move || run_refused.get().is_some()
                    on:click=move |_| ui.dialog.set(Some(Dialog::Test { node: Some(test_name.clone()), workflow: None }))>"Test…"</button>
                <button type="button" data-node-action="backfill" title=run_refused disabled=move || run_refused.get().is_some()
                    on:click=move |_| ui.dialog.set(Some(Dialog::Backfill { node: backfill_name.clone() }))>"Backfill…"</button>
                <button type="button" data-node-action="pause" title=change_refused disabled=move || change_refused.get().is_some() on:click=toggle>
                    {if paused { "Resume scheduling" } else { "Pause scheduling" }}
                </button>
                <Show when=move || change_refused.get().is_none()>
                    <a class="button" href=format!("{}/edit", node_href(&edit_name))>"Edit"</a>
                </Show>
                <NodeActionsButton target=NodeTarget { name: spec.name.clone(), owner: spec.owner.clone(), paused: spec.paused }/>
            </div>
        </div>
        <div class="card">
            <dl class="properties">
                <dt>"Workflow"</dt><dd><a href=format!("/tasks?workflow={}", url_encode(&spec.workflow))>{spec.workflow.clone()}</a></dd>
                <dt>"Owner"</dt><dd>{spec.owner.clone()}</dd>
                <dt>"Schedule"</dt><dd>{view_of.schedule_words.clone()}<span class="muted mono">" ("{spec.schedule.clone()}")"</span></dd>
                <dt>"Command"</dt><dd><pre class="command">{spec.command.clone()}</pre></dd>
                <dt>"Upstream"</dt><dd class="node-links">{links(&spec.upstream)}</dd>
                <dt>"Downstream"</dt><dd class="node-links">{links(&view_of.downstream)}</dd>
                <dt>"Resource group"</dt><dd>{spec.resource_group.clone()}</dd>
                <dt>"Timeout"</dt><dd>{format!("{} s", spec.timeout_secs)}</dd>
                <dt>"Retries"</dt><dd>{format!("{} (after {} s)", spec.retries, spec.retry_delay_secs)}</dd>
                <dt>"Scheduling status"</dt><dd>{if spec.paused { "paused (instances are made but frozen)" } else { "normal" }}</dd>
            </dl>
        </div>
    }
}

/// The form, for a new node (`/tasks/new`) or an existing one (`/tasks/{name}/edit`).
#[component]
pub fn NodeFormPage(editing: bool) -> impl IntoView {
    let ui = Ui::get();
    let name = name_param();
    let existing = Resource::new(
        move || (editing, name.get()),
        |(editing, name)| async move {
            if editing { fetch_node(name).await.map(|v| Some(v.node.spec)) } else { Ok(None) }
        },
    );
    let groups = Resource::new(|| (), |_| fetch_resource_groups());
    view! {
        <section class="page">
            <div class="page-head"><h1>{if editing { "Edit node" } else { "New node" }}</h1></div>
            <Transition fallback=|| view! { <p class="loading">"Loading…"</p> }>
                {move || Suspend::new(async move {
                    let groups: Vec<String> = groups.await.unwrap_or_default().into_iter().map(|g| g.name).collect();
                    match existing.await {
                        Ok(spec) => {
                            let owner = ui.actor().map(|a| a.name).unwrap_or_default();
                            Either::Left(view! { <NodeForm spec owner groups/> })
                        }
                        Err(e) => Either::Right(view! { <p class="error" role="alert">{e.message}</p> }),
                    }
                })}
            </Transition>
        </section>
    }
}

#[component]
fn NodeForm(spec: Option<NodeSpec>, owner: String, groups: Vec<String>) -> impl IntoView {
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
    let group = text(&start.resource_group);
    let (timeout, retries, delay) = (
        text(&start.timeout_secs.to_string()),
        text(&start.retries.to_string()),
        text(&start.retry_delay_secs.to_string()),
    );
    let paused = RwSignal::new(start.paused);
    let error = RwSignal::new(None::<AppError>);
    let busy = RwSignal::new(false);
    let number = |field: &'static str, value: String| {
        value.trim().parse::<u32>().map_err(|_| {
            AppError::bad_request(format!("{} must be a whole number", field.replace('_', " ")))
                .on_field(field)
        })
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
    // A refusal shows next to its field; one about no particular field shows at the top.
    let message_for = move |field: &'static str| {
        move || {
            error
                .with(|e| {
                    e.as_ref()
                        .filter(|e| e.field.as_deref() == Some(field))
                        .map(|e| e.message.clone())
                })
                .map(|m| view! { <p class="field-error" role="alert" data-field=field>{m}</p> })
        }
    };
    let general = move || {
        error
            .with(|e| e.as_ref().filter(|e| e.field.is_none()).map(|e| e.message.clone()))
            .map(|m| view! { <p class="error" role="alert">{m}</p> })
    };
    let input = move |label: &'static str,
                      field: &'static str,
                      value: RwSignal<String>,
                      hint: &'static str| {
        view! {
            <div class="form-field">
                <label for=format!("node-{field}")>{label}</label>
                <input id=format!("node-{field}") name=field prop:value=move || value.get() on:input=move |ev| value.set(event_target_value(&ev))
                    placeholder=hint readonly=field == "name" && !creating/>
                {message_for(field)}
            </div>
        }
    };
    view! {
        <form class="card node-form" on:submit=submit>
            {general}
            {input("Name", "name", name, "letters, digits, _ - .")}
            {input("Workflow", "workflow", workflow, "")}
            {input("Owner", "owner", owner, "")}
            <div class="form-field">
                <label for="node-command">"Command"</label>
                <textarea id="node-command" name="command" rows="4" prop:value=move || command.get() on:input=move |ev| command.set(event_target_value(&ev))
                    placeholder="a shell command; ${bizdate} and ${cyctime} are substituted"></textarea>
                {message_for("command")}
            </div>
            <div class="form-field">
                <label for="node-schedule">"Schedule (cron)"</label>
                <input id="node-schedule" name="schedule" prop:value=move || schedule.get() on:input=move |ev| schedule.set(event_target_value(&ev))/>
                <p class="muted hint">{move || describe(&schedule.get())}</p>
                {message_for("schedule")}
            </div>
            {input("Upstream nodes", "upstream", upstream, "comma-separated names")}
            <div class="form-field">
                <label for="node-resource_group">"Resource group"</label>
                <select id="node-resource_group" name="resource_group" on:change=move |ev| group.set(event_target_value(&ev))>
                    {groups.into_iter().map(|g| {
                        let selected = g == group.get_untracked();
                        view! { <option value=g.clone() selected=selected>{g.clone()}</option> }
                    }).collect_view()}
                </select>
                {message_for("resource_group")}
            </div>
            <div class="form-row three">
                {input("Timeout (s)", "timeout_secs", timeout, "")}
                {input("Retries", "retries", retries, "")}
                {input("Retry delay (s)", "retry_delay_secs", delay, "")}
            </div>
            <label class="check"><input type="checkbox" prop:checked=move || paused.get() on:change=move |ev| paused.set(event_target_checked(&ev))/>"Paused (instances are made but frozen)"</label>
            <div class="buttons">
                <a class="button" href=if creating { "/tasks".to_string() } else { node_href(&start.name) }>"Cancel"</a>
                <button type="submit" class="primary" disabled=move || busy.get()>{if creating { "Create node" } else { "Save" }}</button>
            </div>
        </form>
    }
}
