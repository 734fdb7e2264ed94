//! The processes serving the project: each with its roles, its resource groups, its heartbeat
//! and how many instances run on it (refreshed every few seconds).

use leptos::either::Either;
use leptos::prelude::*;

use crate::api::fetch_workers;
use crate::components::live::refresh_every;
use crate::components::time::{Timestamp, duration};
use crate::i18n::{Locale, td_string};
use crate::lang::locale;
use crate::workers::WorkerInfo;

/// How often the page asks again.
const REFRESH: std::time::Duration = std::time::Duration::from_secs(5);

#[component]
pub fn WorkersPage() -> impl IntoView {
    let l = locale();
    let tick = RwSignal::new(0u32);
    let workers = Resource::new(move || tick.get(), |_| fetch_workers());
    refresh_every(tick, REFRESH);
    view! {
        <section class="page">
            <div class="page-head">
                <h1>{td_string!(l, workers.title)}</h1>
                <span class="muted">{td_string!(l, workers.intro)}</span>
                <span class="spacer"></span>
                <button type="button" on:click=move |_| tick.update(|t| *t += 1)>{td_string!(l, workers.refresh)}</button>
            </div>
            <Transition fallback=move || view! { <p class="loading">{td_string!(l, workers.loading)}</p> }>
                {move || Suspend::new(async move {
                    match workers.await {
                        Ok(list) if list.is_empty() => Either::Left(Either::Left(view! { <p class="empty">{td_string!(l, workers.empty)}</p> })),
                        Ok(list) => Either::Left(Either::Right(view! { <WorkerTable list/> })),
                        Err(e) => Either::Right(view! { <p class="error" role="alert">{e.describe(l)}</p> }),
                    }
                })}
            </Transition>
        </section>
    }
}

fn role_label(l: Locale, role: &str) -> String {
    match role {
        "api" => td_string!(l, workers.role.api).to_string(),
        "scheduler" => td_string!(l, workers.role.scheduler).to_string(),
        "worker" => td_string!(l, workers.role.worker).to_string(),
        other => other.to_string(),
    }
}

#[component]
fn WorkerTable(list: Vec<WorkerInfo>) -> impl IntoView {
    let l = locale();
    let row = move |w: WorkerInfo| {
        let separator = td_string!(l, workers.separator);
        let roles = w.roles.iter().map(|r| role_label(l, r)).collect::<Vec<_>>().join(separator);
        let groups = match &w.groups {
            Some(groups) => groups.join(separator),
            None => td_string!(l, workers.all_groups).to_string(),
        };
        let age = td_string!(l, workers.ago, age = duration(l, w.heartbeat_age_secs));
        let lease = td_string!(l, workers.lease, secs = w.lease_secs);
        view! {
            <tr data-worker=w.name.clone() class:lapsed=!w.alive>
                <td class="mono">{w.name.clone()}</td>
                <td>{roles}</td>
                <td>{groups}</td>
                <td class="mono">{format!("{} · {}", w.host, w.pid)}</td>
                <td><Timestamp at=Some(w.started_at)/></td>
                <td title=lease><Timestamp at=Some(w.heartbeat_at)/>" "<span class="muted">{age}</span></td>
                <td class="num">{w.running}</td>
                <td>{if w.alive {
                    Either::Left(view! { <span class="badge state-success">{td_string!(l, workers.alive)}</span> })
                } else {
                    Either::Right(view! { <span class="badge state-failed">{td_string!(l, workers.lapsed)}</span> })
                }}</td>
            </tr>
        }
    };
    view! {
        <table class="workers">
            <thead>
                <tr>
                    <th>{td_string!(l, workers.column.name)}</th>
                    <th>{td_string!(l, workers.column.roles)}</th>
                    <th>{td_string!(l, workers.column.groups)}</th>
                    <th>{td_string!(l, workers.column.host)}</th>
                    <th>{td_string!(l, workers.column.started)}</th>
                    <th>{td_string!(l, workers.column.heartbeat)}</th>
                    <th>{td_string!(l, workers.column.running)}</th>
                    <th>{td_string!(l, workers.column.status)}</th>
                </tr>
            </thead>
            <tbody>{list.into_iter().map(row).collect_view()}</tbody>
        </table>
    }
}
