//! The backfill list's job panel: each backfill with its progress bar (done / failed / total).

use leptos::either::Either;
use leptos::prelude::*;

use super::context::Ui;
use crate::api::fetch_jobs;
use crate::i18n::td_string;
use crate::jobs::JobQuery;
use crate::jobs::{DateOrder, Job};
use crate::lang::locale;
use crate::model::RunType;

#[component]
pub fn JobsPanel(kind: RunType, active: Signal<Option<i64>>) -> impl IntoView {
    let l = locale();
    let ui = Ui::get();
    let jobs = Resource::new(
        move || ui.tick.get(),
        move |_| fetch_jobs(JobQuery { kind, limit: None, cursor: None }),
    );
    view! {
        <div class="card jobs">
            <h2>
                {if kind == RunType::Backfill {
                    td_string!(l, instances.jobs.backfill_title)
                } else {
                    td_string!(l, instances.jobs.test_title)
                }}
            </h2>
            <Transition fallback=move || view! { <p class="loading">{td_string!(l, common.loading)}</p> }>
                {move || Suspend::new(async move {
                    match jobs.await {
                        Ok(page) if page.items.is_empty() => Either::Left(view! {
                            <p class="empty">{td_string!(l, instances.jobs.empty)}</p>
                        }),
                        Ok(page) => Either::Right(Either::Left(view! {
                            <ul class="job-list">
                                {page.items.into_iter().map(|job| view! { <JobRow job active/> }).collect_view()}
                            </ul>
                        })),
                        Err(e) => Either::Right(Either::Right(view! { <p class="error">{e.describe(l)}</p> })),
                    }
                })}
            </Transition>
        </div>
    }
}

#[component]
fn JobRow(job: Job, active: Signal<Option<i64>>) -> impl IntoView {
    let l = locale();
    let id = job.id;
    let total = job.total.max(1);
    // Tenths of a percent, written without float formatting (it weighs on the bundle).
    let percent = |n: u64| {
        let p = n * 1000 / total;
        format!("{}.{}", p / 10, p % 10)
    };
    let (done, failed) = (job.done(), job.failed());
    let dates = if job.from == job.to {
        job.from.to_string()
    } else {
        format!("{} → {}", job.from, job.to)
    };
    let who = job.created_by.clone();
    let meta = if job.kind == RunType::Backfill {
        let order = if job.order == DateOrder::Desc {
            td_string!(l, instances.jobs.newest_first)
        } else {
            td_string!(l, instances.jobs.oldest_first)
        };
        td_string!(
            l,
            instances.jobs.meta_backfill,
            dates,
            order,
            parallelism = job.parallelism,
            who
        )
    } else {
        td_string!(l, instances.jobs.meta_test, dates, who)
    };
    let path = if job.kind == RunType::Backfill { "/backfill" } else { "/test" };
    let complete = done == job.total;
    view! {
        <li class="job" class:active=move || active.get() == Some(id) data-job=id data-complete=complete.to_string()>
            <a href=format!("{path}?state=any&job={id}")>
                <span class="job-title">
                    <strong>"#"{id}" "{job.root.clone()}</strong>
                    {(job.nodes.len() > 1)
                        .then(|| td_string!(l, instances.jobs.downstream, count = job.nodes.len() - 1))}
                </span>
                <span class="muted">{meta}</span>
            </a>
            <div class="progress" role="progressbar" aria-valuemin="0" aria-valuemax=job.total.to_string() aria-valuenow=done.to_string()>
                <span class="done" style=format!("width: {}%", percent(done))></span>
                <span class="failed" style=format!("width: {}%", percent(failed))></span>
            </div>
            <span class="progress-text">{td_string!(l, instances.jobs.progress, done, failed, total = job.total)}</span>
        </li>
    }
}
