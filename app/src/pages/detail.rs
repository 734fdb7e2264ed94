//! One instance: its properties, what it waits for ("why isn't it running?"), its attempts, the
//! durations of its node's past runs, and its upstream and downstream instances.

use leptos::either::Either;
use leptos::prelude::*;
use leptos_router::hooks::use_params_map;

use crate::api::fetch_detail;
use crate::components::actions::{ActionsButton, open_menu};
use crate::components::context::{Ui, detail_href, flow_href, log_href, target_of};
use crate::components::state_badge::StateBadge;
use crate::components::time::{duration_ms, full_time, optional_time, short_time};
use crate::model::{HistoryPoint, Instance, InstanceDetail, InstanceId, InstanceState};

pub fn id_param() -> Memo<Option<InstanceId>> {
    let params = use_params_map();
    Memo::new(move |_| params.with(|p| p.get("id").and_then(|id| id.parse().ok())))
}

#[component]
pub fn DetailPage() -> impl IntoView {
    let ui = Ui::get();
    let id = id_param();
    let detail = Resource::new(
        move || (id.get(), ui.tick.get()),
        |(id, _)| async move {
            match id {
                Some(id) => fetch_detail(id).await,
                None => Err(crate::error::AppError::bad_request("not an instance id")),
            }
        },
    );
    view! {
        <section class="page detail">
            <Transition fallback=|| view! { <p class="loading">"Loading the instance…"</p> }>
                {move || Suspend::new(async move {
                    match detail.await {
                        Ok(detail) => Either::Left(view! { <Detail detail/> }),
                        Err(e) => Either::Right(view! { <p class="error" role="alert">{e.message}</p> }),
                    }
                })}
            </Transition>
        </section>
    }
}

#[component]
fn Detail(detail: InstanceDetail) -> impl IntoView {
    let InstanceDetail { instance, attempts, waiting_for, history, upstream, downstream } = detail;
    let id = instance.id;
    let target = target_of(&instance);
    let took = match (instance.started_at, instance.ended_at) {
        (Some(s), Some(e)) if instance.state != InstanceState::Running => {
            duration_ms((e - s).num_milliseconds())
        }
        (Some(_), _) => "running".to_string(),
        _ => "—".to_string(),
    };
    let properties: Vec<(&str, String)> = vec![
        ("Instance", format!("#{}", id.0)),
        ("Node", instance.node.clone()),
        ("Workflow", instance.workflow.clone()),
        ("Owner", instance.owner.clone()),
        ("Run type", instance.run_type.to_string()),
        ("Business date", instance.bizdate.to_string()),
        ("Run date", instance.run_date.to_string()),
        ("Planned", full_time(instance.planned_at)),
        ("Created", short_time(instance.created_at)),
        ("Started", optional_time(instance.started_at)),
        ("Ended", optional_time(instance.ended_at)),
        ("Duration", took),
        ("Attempts", instance.attempt.to_string()),
        ("Host", instance.host.clone().unwrap_or_else(|| "—".into())),
        ("Exit code", instance.exit_code.map(|c| c.to_string()).unwrap_or_else(|| "—".into())),
        ("Resource group", instance.resource_group.clone()),
        ("Note", instance.reason.clone().unwrap_or_else(|| "—".into())),
    ];
    view! {
        <div class="page-head">
            <h1>
                {instance.node.clone()}
                <span class="muted">" #"{id.0}</span>
            </h1>
            <div class="head-actions">
                <StateBadge state=instance.state paused=instance.paused/>
                <a class="button" href=flow_href(id)>"Flow"</a>
                <a class="button" href=log_href(id)>"Log"</a>
                <ActionsButton target=target.clone()/>
            </div>
        </div>
        {(!waiting_for.is_empty())
            .then(|| {
                view! {
                    <aside class="why" aria-label="Why isn't it running?">
                        <h2>"Why isn't it running?"</h2>
                        <ul>{waiting_for.into_iter().map(|w| view! { <li>{w}</li> }).collect_view()}</ul>
                    </aside>
                }
            })}
        <div class="detail-grid">
            <div class="card">
                <h2>"Properties"</h2>
                <dl class="properties">
                    {properties
                        .into_iter()
                        .map(|(k, v)| view! { <dt>{k}</dt><dd>{v}</dd> })
                        .collect_view()}
                </dl>
            </div>
            <div class="card">
                <h2>"Run durations of " {instance.node.clone()}</h2>
                <DurationChart history current=id/>
                <h2>"Attempts"</h2>
                <AttemptTable id attempts/>
            </div>
        </div>
        <div class="card" id="neighbours">
            <h2>"Upstream"</h2>
            <NeighbourTable instances=upstream empty="No upstream instances: it depends on nothing."/>
            <h2>"Downstream"</h2>
            <NeighbourTable instances=downstream empty="No downstream instances: nothing depends on it."/>
        </div>
    }
}

#[component]
fn AttemptTable(id: InstanceId, attempts: Vec<crate::model::Attempt>) -> impl IntoView {
    if attempts.is_empty() {
        return Either::Left(view! { <p class="empty">"It has not started yet."</p> });
    }
    Either::Right(view! {
        <table class="compact attempts">
            <thead>
                <tr><th>"Try"</th><th>"Started"</th><th>"Took"</th><th>"Outcome"</th><th>"Exit"</th><th>"Note"</th><th></th></tr>
            </thead>
            <tbody>
                {attempts
                    .into_iter()
                    .rev()
                    .map(|a| {
                        let took = a
                            .ended_at
                            .map(|e| duration_ms((e - a.started_at).num_milliseconds()))
                            .unwrap_or_else(|| "running".into());
                        view! {
                            <tr>
                                <td class="num">{a.attempt}</td>
                                <td class="mono">{short_time(a.started_at)}</td>
                                <td>{took}</td>
                                <td>{a.outcome.clone().unwrap_or_else(|| "—".into())}</td>
                                <td class="num">{a.exit_code.map(|c| c.to_string()).unwrap_or_else(|| "—".into())}</td>
                                <td class="note">{a.reason.clone().unwrap_or_default()}</td>
                                <td><a href=format!("{}?attempt={}", log_href(id), a.attempt)>"log"</a></td>
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
    if history.is_empty() {
        return Either::Left(view! { <p class="empty">"No runs yet."</p> });
    }
    const W: f64 = 560.0;
    const H: f64 = 140.0;
    let points: Vec<HistoryPoint> = history.into_iter().rev().collect();
    let longest = points.iter().filter_map(|p| p.millis).max().unwrap_or(1).max(1) as f64;
    let slot = W / points.len().max(12) as f64;
    let bars = points
        .iter()
        .enumerate()
        .map(|(i, p)| {
            let millis = p.millis.unwrap_or(0);
            let height = ((millis as f64 / longest) * (H - 18.0)).max(2.0);
            let x = i as f64 * slot + 2.0;
            let y = H - height;
            let label = format!(
                "#{} {} — {} ({})",
                p.id.0,
                p.bizdate,
                p.millis.map(duration_ms).unwrap_or_else(|| "running".into()),
                p.state.label()
            );
            view! {
                <a href=detail_href(p.id)>
                    <rect
                        class=format!("bar state-{}", p.state.as_str())
                        class:current=p.id == current
                        x=(x.round() as i64).to_string()
                        y=(y.round() as i64).to_string()
                        width=((slot - 4.0).max(2.0).round() as i64).to_string()
                        height=(height.round() as i64).to_string()
                    >
                        <title>{label}</title>
                    </rect>
                </a>
            }
        })
        .collect_view();
    Either::Right(view! {
        <svg class="chart" viewBox="0 0 560 140" role="img" aria-label="run durations">
            <text class="axis" x="2" y="11">{duration_ms(longest as i64)}</text>
            <line class="axis" x1="0" x2="560" y1="140" y2="140"></line>
            {bars}
        </svg>
    })
}

#[component]
fn NeighbourTable(instances: Vec<Instance>, empty: &'static str) -> impl IntoView {
    if instances.is_empty() {
        return Either::Left(view! { <p class="empty">{empty}</p> });
    }
    Either::Right(view! {
        <table class="compact neighbours">
            <thead>
                <tr><th class="num">"ID"</th><th>"Node"</th><th>"State"</th><th>"Business date"</th><th>"Planned (UTC)"</th><th>"Owner"</th><th></th></tr>
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
                                <td><StateBadge state=i.state paused=i.paused/></td>
                                <td class="mono">{i.bizdate.to_string()}</td>
                                <td class="mono">{short_time(i.planned_at)}</td>
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
