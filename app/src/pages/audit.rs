//! The audit trail: who did what to which instances, when, with which result. Filters live in
//! the URL; pages are keyset-paged; an entry opens to show each instance's result.

use leptos::either::{Either, EitherOf3};
use leptos::prelude::*;
use leptos_router::NavigateOptions;
use leptos_router::hooks::{use_navigate, use_query_map};

use crate::api::{fetch_audit, fetch_audit_entry};
use crate::audit::{ACTIONS, AuditOutcome, AuditQuery, AuditRecord};
use crate::components::context::detail_href;
use crate::components::paged::{Page, PagedTable};
use crate::components::time::full_time;
use crate::model::url_encode;

fn href(query: &AuditQuery) -> String {
    let pairs: Vec<String> =
        query.to_pairs().into_iter().map(|(k, v)| format!("{k}={}", url_encode(&v))).collect();
    if pairs.is_empty() { "/audit".to_string() } else { format!("/audit?{}", pairs.join("&")) }
}

#[component]
pub fn AuditPage() -> impl IntoView {
    let params = use_query_map();
    let query = Memo::new(move |_| {
        params.with(|q| {
            let pairs: Vec<(String, String)> =
                q.clone().into_iter().map(|(k, v)| (k.to_string(), v)).collect();
            AuditQuery::from_pairs(pairs.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        })
    });
    let page = Resource::new(
        move || query.get(),
        |query| async move {
            match query {
                Ok(query) => fetch_audit(query).await,
                Err(e) => Err(e),
            }
        },
    );
    let navigate = use_navigate();
    let go = move |change: &dyn Fn(&mut AuditQuery)| {
        let mut next = query.get_untracked().unwrap_or_default();
        change(&mut next);
        navigate(&href(&next), NavigateOptions::default());
    };
    let current = move || query.get().unwrap_or_default();
    let text = {
        let go = go.clone();
        move |label: &'static str, key: &'static str, placeholder: &'static str| {
            let go = go.clone();
            let value = move || {
                let q = current();
                match key {
                    "actor" => q.actor.unwrap_or_default(),
                    _ => q.instance.map(|i| i.0.to_string()).unwrap_or_default(),
                }
            };
            view! {
                <label for=format!("audit-{key}")>{label}</label>
                <input id=format!("audit-{key}") type="search" placeholder=placeholder prop:value=value on:change=move |ev| {
                    let v = event_target_value(&ev).trim().to_string();
                    go(&|q: &mut AuditQuery| match key {
                        "actor" => q.actor = (!v.is_empty()).then(|| v.clone()),
                        _ => q.instance = v.parse::<i64>().ok().map(crate::model::InstanceId),
                    });
                }/>
            }
        }
    };
    let select = move |label: &'static str, key: &'static str, options: &[&'static str]| {
        let go = go.clone();
        let chosen = move || {
            let q = current();
            if key == "action" { q.action } else { q.outcome.map(|o| o.as_str().to_string()) }
        };
        let options = options.to_vec();
        view! {
            <label for=format!("audit-{key}")>{label}</label>
            <select id=format!("audit-{key}") on:change=move |ev| {
                let v = event_target_value(&ev);
                go(&|q: &mut AuditQuery| {
                    let v = (!v.is_empty()).then(|| v.clone());
                    if key == "action" { q.action = v } else { q.outcome = v.and_then(|v| v.parse().ok()) }
                });
            }>
                <option value="">"any"</option>
                {options.into_iter().map(|o| {
                    let selected = move || chosen().as_deref() == Some(o);
                    view! { <option value=o selected=selected>{o.replace('_', " ")}</option> }
                }).collect_view()}
            </select>
        }
    };
    view! {
        <section class="page">
            <div class="page-head">
                <h1>"Audit trail"</h1>
                <span class="muted">"Every operation (dry runs and refusals included), every change to nodes, resource groups, tests and backfills, and every sign-in and change to people."</span>
            </div>
            <form class="filters" on:submit=|ev| ev.prevent_default()>
                <div class="fields audit">
                    {text("Who", "actor", "user name")}
                    {select("Action", "action", &ACTIONS)}
                    {select("Result", "outcome", &AuditOutcome::ALL.map(AuditOutcome::as_str))}
                    {text("Instance", "instance", "id")}
                    <a class="button" href="/audit">"Clear"</a>
                </div>
            </form>
            <Transition fallback=|| view! { <p class="loading">"Loading the audit trail…"</p> }>
                {move || Suspend::new(async move {
                    match page.await {
                        Ok(page) => Either::Left(view! { <AuditTable first=page.items next=page.next_cursor query=current()/> }),
                        Err(e) => Either::Right(view! { <p class="error" role="alert">{e.message}</p> }),
                    }
                })}
            </Transition>
        </section>
    }
}

#[component]
fn AuditTable(first: Vec<AuditRecord>, next: Option<String>, query: AuditQuery) -> impl IntoView {
    let fetch = move |cursor: String| {
        let query = AuditQuery { before: cursor.parse().ok(), ..query.clone() };
        async move {
            let page = fetch_audit(query).await?;
            Ok(Page { items: page.items, next_cursor: page.next_cursor })
        }
    };
    view! {
        <PagedTable first next fetch key=|r: &AuditRecord| r.id row=|entry| view! { <AuditRow entry/> }
            class="audit" empty="Nothing matches these filters.">
            <tr><th>"When"</th><th>"Who"</th><th>"Action"</th><th>"Result"</th><th class="num">"Instances"</th><th class="num">"Changed"</th><th>"What"</th><th></th></tr>
        </PagedTable>
    }
}

#[component]
fn AuditRow(entry: AuditRecord) -> impl IntoView {
    let open = RwSignal::new(false);
    let id = entry.id;
    let details = LocalResource::new(move || async move {
        if open.get() { Some(fetch_audit_entry(id, None).await) } else { None }
    });
    let outcome_class = match entry.outcome {
        AuditOutcome::Ok => "badge state-success",
        AuditOutcome::Partial => "badge state-waiting_time",
        AuditOutcome::Refused => "badge state-failed",
    };
    let changes = entry.changes.clone();
    let has_instances = entry.requested > 0;
    view! {
        <tr data-audit=id data-action=entry.action.clone() data-outcome=entry.outcome.as_str() data-subject=entry.subject.clone()>
            <td class="mono">{full_time(entry.at)}</td>
            <td>{entry.actor.clone()}</td>
            <td>
                {entry.action.replace('_', " ")}
                {entry.dry_run.then(|| view! { <span class="badge paused">"preview"</span> })}
            </td>
            <td><span class=outcome_class>{entry.outcome.as_str()}</span></td>
            // A change of definitions names no instances.
            <td class="num">{if entry.subject.is_some() && entry.requested == 0 { "—".to_string() } else { entry.requested.to_string() }}</td>
            <td class="num">{if entry.subject.is_some() && entry.requested == 0 { "—".to_string() } else { entry.changed.to_string() }}</td>
            <td class="note">
                {entry.subject.clone().map(|s| view! { <span class="subject mono">{s}</span>" " })}
                {entry.message.clone().unwrap_or_default()}
                {(!changes.is_empty()).then(|| view! {
                    <ul class="field-changes">
                        {changes.into_iter().map(|c| view! {
                            <li data-field=c.field.clone()>
                                <span class="field">{c.field.clone()}</span>" "
                                {c.before.clone().map(|b| view! { <del>{b}</del> })}
                                {(c.before.is_some() && c.after.is_some()).then_some(" → ")}
                                {c.after.clone().map(|a| view! { <ins>{a}</ins> })}
                            </li>
                        }).collect_view()}
                    </ul>
                })}
            </td>
            <td>
                {has_instances.then(|| view! {
                    <button type="button" class="link" aria-expanded=move || open.get().to_string() on:click=move |_| open.update(|o| *o = !*o)>
                        {move || if open.get() { "Hide" } else { "Per instance" }}
                    </button>
                })}
            </td>
        </tr>
        <Show when=move || open.get()>
            <tr class="audit-details">
                <td colspan="8">
                    <Suspense fallback=|| view! { <span class="muted">"Loading…"</span> }>
                        {move || Suspend::new(async move {
                            match details.await {
                                Some(Ok(detail)) => EitherOf3::A(view! {
                                    <ul class="audit-results">
                                        {detail.instances.into_iter().map(|r| {
                                            let ok = r.result == "ok";
                                            view! {
                                                <li class:refused=!ok>
                                                    <a href=detail_href(r.instance_id)>{format!("#{}", r.instance_id)}</a>
                                                    ": "{r.result}
                                                </li>
                                            }
                                        }).collect_view()}
                                    </ul>
                                }),
                                Some(Err(e)) => EitherOf3::B(view! { <p class="error">{e.message}</p> }),
                                None => EitherOf3::C(()),
                            }
                        })}
                    </Suspense>
                </td>
            </tr>
        </Show>
    }
}
