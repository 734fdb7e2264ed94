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
use crate::components::time::Timestamp;
use crate::i18n::{Locale, td_string};
use crate::lang::locale;
use crate::model::url_encode;

fn href(query: &AuditQuery) -> String {
    let pairs: Vec<String> =
        query.to_pairs().into_iter().map(|(k, v)| format!("{k}={}", url_encode(&v))).collect();
    if pairs.is_empty() { "/audit".to_string() } else { format!("/audit?{}", pairs.join("&")) }
}

/// An action of the trail as people read it: the known codes in the page's language, any other
/// (a newer server's) as stored.
fn action_label(l: Locale, action: &str) -> String {
    let known = match action {
        "kill" => td_string!(l, audit.action.kill),
        "rerun" => td_string!(l, audit.action.rerun),
        "set_success" => td_string!(l, audit.action.set_success),
        "pause" => td_string!(l, audit.action.pause),
        "resume" => td_string!(l, audit.action.resume),
        "rerun_downstream" => td_string!(l, audit.action.rerun_downstream),
        "batch_kill" => td_string!(l, audit.action.batch_kill),
        "batch_rerun" => td_string!(l, audit.action.batch_rerun),
        "node.create" => td_string!(l, audit.action.node_create),
        "node.update" => td_string!(l, audit.action.node_update),
        "node.delete" => td_string!(l, audit.action.node_delete),
        "node.pause" => td_string!(l, audit.action.node_pause),
        "node.unpause" => td_string!(l, audit.action.node_unpause),
        "node.rollback" => td_string!(l, audit.action.node_rollback),
        "node.import" => td_string!(l, audit.action.node_import),
        "resource_group.change" => td_string!(l, audit.action.resource_group_change),
        "calendar.change" => td_string!(l, audit.action.calendar_change),
        "calendar.delete" => td_string!(l, audit.action.calendar_delete),
        "snapshot.create" => td_string!(l, audit.action.snapshot_create),
        "test.create" => td_string!(l, audit.action.test_create),
        "backfill.create" => td_string!(l, audit.action.backfill_create),
        "login" => td_string!(l, audit.action.login),
        "logout" => td_string!(l, audit.action.logout),
        "user.add" => td_string!(l, audit.action.user_add),
        "user.change" => td_string!(l, audit.action.user_change),
        "token.create" => td_string!(l, audit.action.token_create),
        "token.revoke" => td_string!(l, audit.action.token_revoke),
        other => return other.replace('_', " "),
    };
    known.to_string()
}

/// An outcome as people read it.
fn outcome_label(l: Locale, outcome: AuditOutcome) -> &'static str {
    match outcome {
        AuditOutcome::Ok => td_string!(l, audit.outcome.ok),
        AuditOutcome::Partial => td_string!(l, audit.outcome.partial),
        AuditOutcome::Refused => td_string!(l, audit.outcome.refused),
    }
}

#[component]
pub fn AuditPage() -> impl IntoView {
    let l = locale();
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
                <option value="">{td_string!(l, audit.filter.any)}</option>
                {options.into_iter().map(|o| {
                    let selected = move || chosen().as_deref() == Some(o);
                    let name = if key == "action" {
                        action_label(l, o)
                    } else {
                        match o.parse::<AuditOutcome>() {
                            Ok(outcome) => outcome_label(l, outcome).to_string(),
                            Err(_) => o.replace('_', " "),
                        }
                    };
                    view! { <option value=o selected=selected>{name}</option> }
                }).collect_view()}
            </select>
        }
    };
    view! {
        <section class="page">
            <div class="page-head">
                <h1>{td_string!(l, audit.title)}</h1>
                <span class="muted">{td_string!(l, audit.intro)}</span>
            </div>
            <form class="filters" on:submit=|ev| ev.prevent_default()>
                <div class="fields audit">
                    {text(td_string!(l, audit.filter.who), "actor", td_string!(l, audit.filter.who_placeholder))}
                    {select(td_string!(l, audit.filter.action), "action", &ACTIONS)}
                    {select(td_string!(l, audit.filter.result), "outcome", &AuditOutcome::ALL.map(AuditOutcome::as_str))}
                    {text(td_string!(l, audit.filter.instance), "instance", td_string!(l, audit.filter.instance_placeholder))}
                    <a class="button" href="/audit">{td_string!(l, common.button.clear)}</a>
                </div>
            </form>
            <Transition fallback=move || view! { <p class="loading">{td_string!(l, audit.loading)}</p> }>
                {move || Suspend::new(async move {
                    match page.await {
                        Ok(page) => Either::Left(view! { <AuditTable first=page.items next=page.next_cursor query=current()/> }),
                        Err(e) => Either::Right(view! { <p class="error" role="alert">{e.describe(l)}</p> }),
                    }
                })}
            </Transition>
        </section>
    }
}

#[component]
fn AuditTable(first: Vec<AuditRecord>, next: Option<String>, query: AuditQuery) -> impl IntoView {
    let l = locale();
    let fetch = move |cursor: String| {
        let query = AuditQuery { before: cursor.parse().ok(), ..query.clone() };
        async move {
            let page = fetch_audit(query).await?;
            Ok(Page { items: page.items, next_cursor: page.next_cursor })
        }
    };
    view! {
        <PagedTable first next fetch key=|r: &AuditRecord| r.id row=|entry| view! { <AuditRow entry/> }
            class="audit" empty=td_string!(l, audit.empty)>
            <tr>
                <th>{td_string!(l, audit.column.when)}</th>
                <th>{td_string!(l, audit.column.who)}</th>
                <th>{td_string!(l, audit.column.action)}</th>
                <th>{td_string!(l, audit.column.result)}</th>
                <th class="num">{td_string!(l, audit.column.instances)}</th>
                <th class="num">{td_string!(l, audit.column.changed)}</th>
                <th>{td_string!(l, audit.column.what)}</th>
                <th></th>
            </tr>
        </PagedTable>
    }
}

#[component]
fn AuditRow(entry: AuditRecord) -> impl IntoView {
    let l = locale();
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
            <td><Timestamp at=Some(entry.at)/></td>
            <td>{entry.actor.clone()}</td>
            <td>
                {action_label(l, &entry.action)}
                {entry.dry_run.then(|| view! { <span class="badge paused">{td_string!(l, audit.preview)}</span> })}
            </td>
            <td><span class=outcome_class>{outcome_label(l, entry.outcome)}</span></td>
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
                        {move || if open.get() { td_string!(l, audit.hide) } else { td_string!(l, audit.per_instance) }}
                    </button>
                })}
            </td>
        </tr>
        <Show when=move || open.get()>
            <tr class="audit-details">
                <td colspan="8">
                    <Suspense fallback=move || view! { <span class="muted">{td_string!(l, common.loading)}</span> }>
                        {move || Suspend::new(async move {
                            match details.await {
                                Some(Ok(detail)) => EitherOf3::A(view! {
                                    <ul class="audit-results">
                                        {detail.instances.into_iter().map(|r| {
                                            let ok = r.result == "ok";
                                            // `ok`, or the reason it was refused as stored.
                                            let result = if ok { outcome_label(l, AuditOutcome::Ok).to_string() } else { r.result };
                                            view! {
                                                <li class:refused=!ok>
                                                    <a href=detail_href(r.instance_id)>{format!("#{}", r.instance_id)}</a>
                                                    {td_string!(l, audit.result_separator)}{result}
                                                </li>
                                            }
                                        }).collect_view()}
                                    </ul>
                                }),
                                Some(Err(e)) => EitherOf3::B(view! { <p class="error">{e.describe(l)}</p> }),
                                None => EitherOf3::C(()),
                            }
                        })}
                    </Suspense>
                </td>
            </tr>
        </Show>
    }
}
