//! One instance: its properties, what it waits for ("why isn't it running?"), its attempts, the
//! durations of its node's past runs, and its upstream and downstream instances.

use leptos::either::Either;
use leptos::prelude::*;
use leptos_router::hooks::use_params_map;

use crate::api::fetch_detail;
use crate::components::actions::{ActionsButton, open_menu};
use crate::components::context::{Ui, detail_href, flow_href, log_href, target_of};
use crate::components::state_badge::StateBadge;
use crate::components::time::{Timestamp, duration_ms};
use crate::i18n::td_string;
use crate::lang::locale;
use crate::model::{HistoryPoint, Instance, InstanceDetail, InstanceId, InstanceState};
use crate::pages::markup::escape;

pub fn id_param() -> Memo<Option<InstanceId>> {
    let params = use_params_map();
    Memo::new(move |_| params.with(|p| p.get("id").and_then(|id| id.parse().ok())))
}

/// The refusal of a page whose path names no instance id.
pub fn not_an_instance() -> crate::error::AppError {
    crate::error::AppError::because(crate::reason::Reason::NotAnInstance)
}

#[component]
pub fn DetailPage() -> impl IntoView {
    let l = locale();
    let ui = Ui::get();
    let id = id_param();
    let detail = Resource::new(
        move || (id.get(), ui.tick.get()),
        |(id, _)| async move {
            match id {
                Some(id) => fetch_detail(id).await,
                None => Err(not_an_instance()),
            }
        },
    );
    view! {
        <section class="page detail">
            <Transition fallback=move || view! { <p class="loading">{td_string!(l, detail.loading)}</p> }>
                {move || Suspend::new(async move {
                    match detail.await {
                        Ok(detail) => Either::Left(view! { <Detail detail/> }),
                        Err(e) => Either::Right(view! { <p class="error" role="alert">{e.describe(l)}</p> }),
                    }
                })}
            </Transition>
        </section>
    }
}

#[component]
fn Detail(detail: InstanceDetail) -> impl IntoView {
    let l = locale();
    let InstanceDetail { instance, attempts, waiting_for, history, upstream, downstream, .. } =
        detail;
    let id = instance.id;
    let target = target_of(&instance);
    let took = match (instance.started_at, instance.ended_at) {
        (Some(s), Some(e)) if instance.state != InstanceState::Running => {
            duration_ms(l, (e - s).num_milliseconds())
        }
        (Some(_), _) => td_string!(l, detail.running).to_string(),
        _ => "—".to_string(),
    };
    // Text, or a time (a `<time>` saying it is UTC).
    let text = |value: String| value.into_any();
    let time = |at: Option<chrono::DateTime<chrono::Utc>>| view! { <Timestamp at/> }.into_any();
    let properties: Vec<(&str, AnyView)> = vec![
        (td_string!(l, detail.property.instance), text(format!("#{}", id.0))),
        (td_string!(l, detail.property.node), text(instance.node.clone())),
        (td_string!(l, detail.property.workflow), text(instance.workflow.clone())),
        (td_string!(l, detail.property.owner), text(instance.owner.clone())),
        (td_string!(l, detail.property.run_type), text(instance.run_type.label(l).to_string())),
        (td_string!(l, detail.property.bizdate), text(instance.bizdate.to_string())),
        (td_string!(l, detail.property.run_date), text(instance.run_date.to_string())),
        (td_string!(l, detail.property.planned), time(Some(instance.planned_at))),
        (td_string!(l, detail.property.created), time(Some(instance.created_at))),
        (td_string!(l, detail.property.started), time(instance.started_at)),
        (td_string!(l, detail.property.ended), time(instance.ended_at)),
        (td_string!(l, detail.property.duration), text(took)),
        (td_string!(l, detail.property.attempts), text(instance.attempt.to_string())),
        (
            td_string!(l, detail.property.host),
            text(instance.host.clone().unwrap_or_else(|| "—".into())),
        ),
        (
            td_string!(l, detail.property.exit_code),
            text(instance.exit_code.map(|c| c.to_string()).unwrap_or_else(|| "—".into())),
        ),
        (td_string!(l, detail.property.resource_group), text(instance.resource_group.clone())),
        (
            td_string!(l, detail.property.definition_version),
            text(instance.definition_version.map_or_else(|| "—".into(), |v| format!("v{v}"))),
        ),
        (
            td_string!(l, detail.property.dry_run),
            text(if instance.dry_run {
                td_string!(l, detail.dry_run_yes).to_string()
            } else {
                td_string!(l, detail.dry_run_no).to_string()
            }),
        ),
        (
            td_string!(l, detail.property.note),
            text(instance.reason.clone().unwrap_or_else(|| "—".into())),
        ),
    ];
    view! {
        <div class="page-head">
            <h1>
                {instance.node.clone()}
                <span class="muted">" #"{id.0}</span>
            </h1>
            <div class="head-actions">
                <StateBadge state=instance.state paused=instance.paused dry_run=instance.dry_run/>
                <a class="button" href=flow_href(id)>{td_string!(l, detail.button.flow)}</a>
                <a class="button" href=log_href(id)>{td_string!(l, detail.button.log)}</a>
                <ActionsButton target=target.clone()/>
            </div>
        </div>
        {(!waiting_for.is_empty())
            .then(|| {
                view! {
                    <aside class="why" aria-label=td_string!(l, detail.why_title)>
                        <h2>{td_string!(l, detail.why_title)}</h2>
                        <ul>{waiting_for.into_iter().map(|w| view! { <li>{w}</li> }).collect_view()}</ul>
                    </aside>
                }
            })}
        <div class="detail-grid">
            <div class="card">
                <h2>{td_string!(l, detail.properties)}</h2>
                <dl class="properties">
                    {properties
                        .into_iter()
                        .map(|(k, v)| view! { <dt>{k}</dt><dd>{v}</dd> })
                        .collect_view()}
                </dl>
            </div>
            <div class="card">
                <h2>{td_string!(l, detail.history_title, node = instance.node.clone())}</h2>
                <DurationChart history current=id/>
                <h2>{td_string!(l, detail.attempts_title)}</h2>
                <AttemptTable id attempts/>
            </div>
        </div>
        <div class="card" id="neighbours">
            <h2>{td_string!(l, detail.upstream)}</h2>
            <NeighbourTable instances=upstream empty=td_string!(l, detail.no_upstream)/>
            <h2>{td_string!(l, detail.downstream)}</h2>
            <NeighbourTable instances=downstream empty=td_string!(l, detail.no_downstream)/>
        </div>
    }
}

#[component]
fn AttemptTable(id: InstanceId, attempts: Vec<crate::model::Attempt>) -> impl IntoView {
    let l = locale();
    if attempts.is_empty() {
        return Either::Left(
            view! { <p class="empty">{td_string!(l, detail.attempt.not_started)}</p> },
        );
    }
    Either::Right(view! {
        <table class="compact attempts">
            <thead>
                <tr>
                    <th>{td_string!(l, detail.attempt.try_no)}</th>
                    <th>{td_string!(l, detail.attempt.started)}</th>
                    <th>{td_string!(l, detail.attempt.took)}</th>
                    <th>{td_string!(l, detail.attempt.outcome)}</th>
                    <th>{td_string!(l, detail.attempt.exit)}</th>
                    <th>{td_string!(l, detail.attempt.note)}</th>
                    <th></th>
                </tr>
            </thead>
            <tbody>
                {attempts
                    .into_iter()
                    .rev()
                    .map(|a| {
                        let took = a
                            .ended_at
                            .map(|e| duration_ms(l, (e - a.started_at).num_milliseconds()))
                            .unwrap_or_else(|| td_string!(l, detail.running).into());
                        // The attempt's outcome is a code (`success`, `failed`): said as the state.
                        let outcome = a.outcome.as_deref().map(|o| match o {
                            "success" => InstanceState::Success.label(l).to_string(),
                            "failed" => InstanceState::Failed.label(l).to_string(),
                            other => other.to_string(),
                        });
                        view! {
                            <tr>
                                <td class="num">{a.attempt}</td>
                                <td><Timestamp at=Some(a.started_at)/></td>
                                <td>{took}</td>
                                <td>{outcome.unwrap_or_else(|| "—".into())}</td>
                                <td class="num">{a.exit_code.map(|c| c.to_string()).unwrap_or_else(|| "—".into())}</td>
                                <td class="note">{a.reason.clone().unwrap_or_default()}</td>
                                <td><a href=format!("{}?attempt={}", log_href(id), a.attempt)>{td_string!(l, detail.attempt.log)}</a></td>
                            </tr>
                        }
                    })
                    .collect_view()}
            </tbody>
        </table>
    })
}

/// Bars of the node's last runs, oldest on the left, coloured by state; this one outlined.
#[component]
fn DurationChart(history: Vec<HistoryPoint>, current: InstanceId) -> impl IntoView {
    let l = locale();
    if history.is_empty() {
        return Either::Left(view! { <p class="empty">{td_string!(l, detail.chart.empty)}</p> });
    }
    const W: f64 = 560.0;
    const H: f64 = 140.0;
    let points: Vec<HistoryPoint> = history.into_iter().rev().collect();
    let longest = points.iter().filter_map(|p| p.millis).max().unwrap_or(1).max(1) as f64;
    let slot = W / points.len().max(12) as f64;
    // Drawn as SVG markup: the browser then makes every element in the SVG namespace, also
    // when the page is reached by in-app navigation (elements made one by one there would put
    // a link's bar in the HTML namespace, where it has no size).
    let mut bars = String::with_capacity(points.len() * 260);
    for (i, p) in points.iter().enumerate() {
        let millis = p.millis.unwrap_or(0);
        let height = ((millis as f64 / longest) * (H - 18.0)).max(2.0);
        let x = i as f64 * slot + 2.0;
        let y = H - height;
        let took = match p.millis {
            Some(ms) => duration_ms(l, ms),
            None => td_string!(l, detail.running).to_string(),
        };
        let label = td_string!(
            l,
            detail.chart.bar,
            id = p.id.0,
            bizdate = p.bizdate,
            took,
            state = p.state.label(l)
        );
        bars.push_str(&format!(
            r#"<a href="{href}"><rect class="bar state-{state}{current}" x="{x}" y="{y}" width="{w}" height="{h}"><title>{label}</title></rect></a>"#,
            href = detail_href(p.id),
            state = p.state.as_str(),
            current = if p.id == current { " current" } else { "" },
            x = x.round() as i64,
            y = y.round() as i64,
            w = (slot - 4.0).max(2.0).round() as i64,
            h = height.round() as i64,
            label = escape(&label),
        ));
    }
    Either::Right(view! {
        <svg class="chart" viewBox="0 0 560 140" role="img" aria-label=td_string!(l, detail.chart.label)>
            <text class="axis" x="2" y="11">{duration_ms(l, longest as i64)}</text>
            <line class="axis" x1="0" x2="560" y1="140" y2="140"></line>
            <g class="bars" inner_html=bars></g>
        </svg>
    })
}

#[component]
fn NeighbourTable(instances: Vec<Instance>, empty: &'static str) -> impl IntoView {
    let l = locale();
    if instances.is_empty() {
        return Either::Left(view! { <p class="empty">{empty}</p> });
    }
    Either::Right(view! {
        <table class="compact neighbours">
            <thead>
                <tr>
                    <th class="num">{td_string!(l, detail.neighbour.id)}</th>
                    <th>{td_string!(l, detail.neighbour.node)}</th>
                    <th>{td_string!(l, detail.neighbour.state)}</th>
                    <th>{td_string!(l, detail.neighbour.bizdate)}</th>
                    <th>{td_string!(l, detail.neighbour.planned)}</th>
                    <th>{td_string!(l, detail.neighbour.owner)}</th>
                    <th></th>
                </tr>
            </thead>
            <tbody>
                {instances
                    .into_iter()
                    .map(|i| {
                        let target = target_of(&i);
                        let menu_target = target.clone();
                        view! {
                            <tr
                                data-instance-id=i.id.0
                                data-state=i.state.as_str()
                                on:contextmenu=move |ev: leptos::ev::MouseEvent| {
                                    ev.prevent_default();
                                    open_menu(menu_target.clone(), ev.client_x(), ev.client_y());
                                }
                            >
                                <td class="num mono"><a href=detail_href(i.id)>{i.id.0}</a></td>
                                <td><a href=detail_href(i.id)>{i.node.clone()}</a></td>
                                <td><StateBadge state=i.state paused=i.paused dry_run=i.dry_run/></td>
                                <td class="mono">{i.bizdate.to_string()}</td>
                                <td><Timestamp at=Some(i.planned_at)/></td>
                                <td>{i.owner.clone()}</td>
                                <td class="actions-col"><ActionsButton target/></td>
                            </tr>
                        }
                    })
                    .collect_view()}
            </tbody>
        </table>
    })
}
