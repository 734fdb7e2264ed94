//! Baselines: each promise with its status for a run date (today in the project time zone unless
//! `?run_date=` says otherwise): predicted finish against the commitment, and the critical path,
//! which opens highlighted on the flow view. Made and changed in a form like the alert rules'.

use leptos::either::{Either, EitherOf3};
use leptos::prelude::*;
use leptos::task::spawn_local;
use leptos_router::hooks::{use_navigate, use_query_map};

use super::alerts::{REFRESH, may_change, parse_channels};
use crate::api::{delete_baseline, fetch_baseline_status, fetch_baselines, save_baseline};
use crate::baselines::{Baseline, BaselineSpec, BaselineState, BaselineStatus};
use crate::components::context::{Ui, flow_href};
use crate::components::form::{TextField, field_error, form_error, text_field};
use crate::components::live::refresh_every;
use crate::components::time::{Timestamp, timestamp};
use crate::error::AppError;
use crate::i18n::{Locale, td_string};
use crate::lang::locale;
use crate::reason::Reason;
use crate::rules;

pub fn state_label(l: Locale, state: BaselineState) -> &'static str {
    match state {
        BaselineState::OnTime => td_string!(l, alerts.baselines.state.on_time),
        BaselineState::AtRisk => td_string!(l, alerts.baselines.state.at_risk),
        BaselineState::Late => td_string!(l, alerts.baselines.state.late),
        BaselineState::Done => td_string!(l, alerts.baselines.state.done),
    }
}

/// The flow view around the last instance of the critical path, with the path highlighted.
pub fn critical_path_href(status: &BaselineStatus) -> Option<String> {
    let last = status.critical_path.last()?;
    let ids: Vec<String> = status.critical_path.iter().map(|i| i.0.to_string()).collect();
    Some(format!("{}?highlight={}", flow_href(*last), ids.join(",")))
}

#[component]
pub fn BaselinesPage() -> impl IntoView {
    let l = locale();
    let ui = Ui::get();
    let query = use_query_map();
    let run_date = Memo::new(move |_| {
        query.with(|q| {
            q.get("run_date")
                .and_then(|d| chrono::NaiveDate::parse_from_str(d.trim(), "%Y-%m-%d").ok())
        })
    });
    let tick = RwSignal::new(0u32);
    refresh_every(tick, REFRESH);
    let list = Resource::new(move || tick.get(), |_| fetch_baselines());
    let editing = RwSignal::new(None::<Option<Baseline>>);
    let may_make = move || ui.actor().is_some_and(|a| rules::may_operate(&a));
    let navigate = use_navigate();
    view! {
        <section class="page baselines-page">
            <div class="page-head">
                <h1>{td_string!(l, alerts.baselines.title)}</h1>
                <span class="muted">{td_string!(l, alerts.baselines.intro)}</span>
            </div>
            <div class="section-head">
                <label for="baseline-run-date">{td_string!(l, alerts.baselines.run_date)}</label>
                <input id="baseline-run-date" type="date" prop:value=move || run_date.get().map(|d| d.to_string()).unwrap_or_default()
                    on:change=move |ev| {
                        let date = event_target_value(&ev);
                        let href = if date.is_empty() { "/baselines".to_string() } else { format!("/baselines?run_date={date}") };
                        navigate(&href, Default::default());
                    }/>
                <span class="spacer"></span>
                {move || (may_make() && editing.get().is_none()).then(|| view! {
                    <button type="button" class="primary" data-action="new-baseline" on:click=move |_| editing.set(Some(None))>{td_string!(l, alerts.baselines.add)}</button>
                })}
            </div>
            {move || editing.get().map(|baseline| view! { <BaselineForm baseline editing tick/> })}
            <Transition fallback=move || view! { <p class="loading">{td_string!(l, alerts.loading)}</p> }>
                {move || Suspend::new(async move {
                    match list.await {
                        Ok(list) if list.is_empty() => EitherOf3::A(view! { <p class="empty">{td_string!(l, alerts.baselines.empty)}</p> }),
                        Ok(list) => EitherOf3::B(view! {
                            <table class="baselines">
                                <thead>
                                    <tr>
                                        <th>{td_string!(l, alerts.baselines.column.name)}</th>
                                        <th>{td_string!(l, alerts.baselines.column.nodes)}</th>
                                        <th>{td_string!(l, alerts.baselines.column.commit_by)}</th>
                                        <th>{td_string!(l, alerts.baselines.column.predicted)}</th>
                                        <th>{td_string!(l, alerts.baselines.column.status)}</th>
                                        <th>{td_string!(l, alerts.baselines.column.critical_path)}</th>
                                        <th></th>
                                    </tr>
                                </thead>
                                <tbody>
                                    {list.into_iter().map(|b| view! { <BaselineRow baseline=b run_date editing tick/> }).collect_view()}
                                </tbody>
                            </table>
                        }),
                        Err(e) => EitherOf3::C(view! { <p class="error" role="alert">{e.describe(l)}</p> }),
                    }
                })}
            </Transition>
        </section>
    }
}

#[component]
fn BaselineRow(
    baseline: Baseline,
    run_date: Memo<Option<chrono::NaiveDate>>,
    editing: RwSignal<Option<Option<Baseline>>>,
    tick: RwSignal<u32>,
) -> impl IntoView {
    let l = locale();
    let ui = Ui::get();
    let name = baseline.name.clone();
    let status = Resource::new(
        move || (tick.get(), run_date.get()),
        move |(_, run_date)| fetch_baseline_status(name.clone(), run_date),
    );
    let changeable = may_change(ui, &baseline.created_by);
    let confirming = RwSignal::new(false);
    let (row_name, delete_name) = (baseline.name.clone(), baseline.name.clone());
    let edited = baseline.clone();
    let remove = move |_| {
        let name = delete_name.clone();
        spawn_local(async move {
            match delete_baseline(name).await {
                Ok(()) => tick.update(|t| *t += 1),
                Err(e) => ui.toast(e.describe(l), true),
            }
        });
    };
    let commit = baseline.commit_by.clone();
    let margin = td_string!(l, alerts.baselines.margin, minutes = baseline.margin_mins);
    view! {
        <tr data-baseline=baseline.name.clone()>
            <td>{baseline.name.clone()}</td>
            <td class="mono">{baseline.nodes.join(", ")}</td>
            <td>
                <span class="mono">{commit}</span>
                <div class="muted small">{margin}</div>
            </td>
            <Transition fallback=|| view! { <td></td><td></td><td></td> }>
                {move || Suspend::new(async move {
                    match status.await {
                        Ok(s) => {
                            let path: Vec<String> = s
                                .critical_path
                                .iter()
                                .filter_map(|id| s.instances.iter().find(|i| i.id == *id).map(|i| i.node.clone()))
                                .collect();
                            let href = critical_path_href(&s);
                            // Past the commitment: the predicted (or real) finish in red.
                            let over = s.predicted_finish > s.commit_by;
                            let committed = td_string!(l, alerts.baselines.committed, at = timestamp(s.commit_by));
                            Either::Left(view! {
                                <td class="predicted">
                                    <span class:over=over><Timestamp at=Some(s.predicted_finish)/></span>
                                    <div class="muted small">{committed}</div>
                                </td>
                                <td><span class=format!("badge baseline-{}", s.status.as_str()) data-status=s.status.as_str()>{state_label(l, s.status)}</span></td>
                                <td class="critical-path">
                                    <span class="mono">{path.join(" → ")}</span>
                                    {href.map(|href| view! { <div><a href=href data-action="critical-path">{td_string!(l, alerts.baselines.show_flow)}</a></div> })}
                                </td>
                            })
                        }
                        Err(e) => {
                            let text = if matches!(e.reason.as_deref(), Some(Reason::BaselineNoInstances { .. })) || e.code == crate::error::ErrorCode::NotFound {
                                td_string!(l, alerts.baselines.no_instances).to_string()
                            } else {
                                e.describe(l)
                            };
                            Either::Right(view! { <td colspan="3" class="muted">{text}</td> })
                        }
                    }
                })}
            </Transition>
            <td class="actions">{changeable.then(|| view! {
                {move || if confirming.get() {
                    Either::Left(view! {
                        <span class="confirm">{td_string!(l, alerts.baselines.confirm_delete, name = row_name.clone())}</span>
                        <button type="button" class="danger" data-action="confirm-delete" on:click=remove.clone()>{td_string!(l, alerts.delete)}</button>
                        <button type="button" on:click=move |_| confirming.set(false)>{td_string!(l, common.button.cancel)}</button>
                    })
                } else {
                    let edited = edited.clone();
                    Either::Right(view! {
                        <button type="button" data-action="edit" on:click=move |_| editing.set(Some(Some(edited.clone())))>{td_string!(l, alerts.edit)}</button>
                        <button type="button" class="danger" data-action="delete" on:click=move |_| confirming.set(true)>{td_string!(l, alerts.delete)}</button>
                    })
                }}
            })}</td>
        </tr>
    }
}

const BASELINE_FIELDS: &[&str] = &["name", "nodes", "commit_by", "margin_mins", "channels"];

#[component]
fn BaselineForm(
    baseline: Option<Baseline>,
    editing: RwSignal<Option<Option<Baseline>>>,
    tick: RwSignal<u32>,
) -> impl IntoView {
    let l = locale();
    let creating = baseline.is_none();
    let name = RwSignal::new(baseline.as_ref().map(|b| b.name.clone()).unwrap_or_default());
    let nodes = RwSignal::new(baseline.as_ref().map(|b| b.nodes.join(", ")).unwrap_or_default());
    let commit_by =
        RwSignal::new(baseline.as_ref().map_or("08:00".to_string(), |b| b.commit_by.clone()));
    let margin =
        RwSignal::new(baseline.as_ref().map_or("30".to_string(), |b| b.margin_mins.to_string()));
    let channels = RwSignal::new(
        baseline
            .as_ref()
            .map(|b| {
                b.channels.iter().map(|c| c.target().to_string()).collect::<Vec<_>>().join("\n")
            })
            .unwrap_or_default(),
    );
    let error = RwSignal::new(None::<AppError>);
    let busy = RwSignal::new(false);
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let margin_mins = match margin.get_untracked().trim().parse::<u32>() {
            Ok(m) => m,
            Err(_) => {
                return error.set(Some(AppError::because(Reason::WholeNumber {
                    field: "margin_mins".into(),
                })));
            }
        };
        let spec = BaselineSpec {
            name: name.get_untracked(),
            nodes: nodes.get_untracked().split(',').map(str::to_string).collect(),
            commit_by: commit_by.get_untracked(),
            margin_mins,
            channels: parse_channels(&channels.get_untracked()),
        }
        .normalized();
        if let Err(e) = spec.check() {
            return error.set(Some(e));
        }
        busy.set(true);
        spawn_local(async move {
            match save_baseline(creating, spec).await {
                Ok(_) => {
                    editing.set(None);
                    tick.update(|t| *t += 1);
                }
                Err(e) => error.set(Some(e)),
            }
            busy.set(false);
        });
    };
    let input = move |label, field, value, hint| {
        let readonly = field == "name" && !creating;
        text_field(l, error, value, TextField { form: "baseline", label, field, hint, readonly })
    };
    view! {
        <form class="card baseline-form" on:submit=submit>
            <h3>{if creating { td_string!(l, alerts.baselines.form.title_new) } else { td_string!(l, alerts.baselines.form.title_edit) }}</h3>
            {form_error(l, error, BASELINE_FIELDS)}
            {input(td_string!(l, alerts.baselines.form.name), "name", name, "")}
            {input(td_string!(l, alerts.baselines.form.nodes), "nodes", nodes, td_string!(l, alerts.baselines.form.nodes_hint))}
            <div class="form-row">
                {input(td_string!(l, alerts.baselines.form.commit_by), "commit_by", commit_by, "08:00")}
                {input(td_string!(l, alerts.baselines.form.margin), "margin_mins", margin, "30")}
            </div>
            <div class="form-field">
                <label for="baseline-channels">{td_string!(l, alerts.form.channels)}</label>
                <textarea id="baseline-channels" name="channels" rows="2" prop:value=move || channels.get() on:input=move |ev| channels.set(event_target_value(&ev))></textarea>
                <p class="muted hint">{td_string!(l, alerts.baselines.form.channels_hint)}</p>
                {field_error(l, error, "channels")}
            </div>
            <div class="buttons">
                <button type="button" on:click=move |_| editing.set(None)>{td_string!(l, common.button.cancel)}</button>
                <button type="submit" class="primary" disabled=move || busy.get()>{if creating { td_string!(l, alerts.baselines.form.create) } else { td_string!(l, common.button.save) }}</button>
            </div>
        </form>
    }
}
