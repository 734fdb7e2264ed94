//! Alerts: the rules (what to watch, where to say it; made and changed in a form that shows each
//! refusal at its field) and the history of what fired, with each channel's delivery, newest
//! first. Both are read again every few seconds.

use leptos::either::{Either, EitherOf3};
use leptos::prelude::*;
use leptos::task::spawn_local;

use crate::alerts::{
    Alert, AlertEvent, AlertQuery, AlertRule, AlertRuleSpec, AlertStatus, Channel, Delivery,
};
use crate::api::{delete_alert_rule, fetch_alert_rules, fetch_alerts, save_alert_rule};
use crate::components::context::{Ui, detail_href};
use crate::components::form::{TextField, field_error, form_error, text_field};
use crate::components::live::refresh_every;
use crate::components::time::Timestamp;
use crate::error::AppError;
use crate::i18n::{Locale, td_string};
use crate::lang::locale;
use crate::reason::Reason;
use crate::rules::{self, Permission};

/// How often the page reads again (rules and alerts are not on the event stream).
pub const REFRESH: std::time::Duration = std::time::Duration::from_secs(5);

fn status_label(l: Locale, status: AlertStatus) -> &'static str {
    match status {
        AlertStatus::Pending => td_string!(l, alerts.status.pending),
        AlertStatus::Delivered => td_string!(l, alerts.status.delivered),
        AlertStatus::Failed => td_string!(l, alerts.status.failed),
        AlertStatus::Folded => td_string!(l, alerts.status.folded),
    }
}

pub fn channel_text(channel: &Channel) -> String {
    format!("{}: {}", channel.kind(), channel.target())
}

/// Channels written one per line: an address with `@` and no scheme is an e-mail address.
pub fn parse_channels(text: &str) -> Vec<Channel> {
    text.lines()
        .map(str::trim)
        .filter(|line| !line.is_empty())
        .map(|line| {
            if line.contains('@') && !line.contains("://") {
                Channel::Email(line.to_string())
            } else {
                Channel::Webhook(line.to_string())
            }
        })
        .collect()
}

/// Whether the person may change what `maker` made.
pub fn may_change(ui: Ui, maker: &str) -> bool {
    ui.actor().is_some_and(|a| rules::authorize(&a, Permission::Watch { owner: maker }).is_ok())
}

#[component]
pub fn AlertsPage() -> impl IntoView {
    let l = locale();
    let ui = Ui::get();
    let tick = RwSignal::new(0u32);
    refresh_every(tick, REFRESH);
    let rules = Resource::new(move || tick.get(), |_| fetch_alert_rules());
    // None: the form is closed; Some(None): a new rule; Some(Some(rule)): that rule.
    let editing = RwSignal::new(None::<Option<AlertRule>>);
    let may_make = move || ui.actor().is_some_and(|a| rules::may_operate(&a));
    view! {
        <section class="page alerts-page">
            <div class="page-head">
                <h1>{td_string!(l, alerts.title)}</h1>
                <span class="muted">{td_string!(l, alerts.intro)}</span>
            </div>
            <div class="section-head">
                <h2>{td_string!(l, alerts.rules)}</h2>
                <span class="spacer"></span>
                {move || (may_make() && editing.get().is_none()).then(|| view! {
                    <button type="button" class="primary" data-action="new-rule" on:click=move |_| editing.set(Some(None))>{td_string!(l, alerts.new_rule)}</button>
                })}
            </div>
            {move || editing.get().map(|rule| view! { <RuleForm rule editing tick/> })}
            <Transition fallback=move || view! { <p class="loading">{td_string!(l, alerts.loading)}</p> }>
                {move || Suspend::new(async move {
                    match rules.await {
                        Ok(list) if list.is_empty() => EitherOf3::A(view! { <p class="empty">{td_string!(l, alerts.no_rules)}</p> }),
                        Ok(list) => EitherOf3::B(view! { <RuleTable list editing tick/> }),
                        Err(e) => EitherOf3::C(view! { <p class="error" role="alert">{e.describe(l)}</p> }),
                    }
                })}
            </Transition>
            <History tick/>
        </section>
    }
}

fn scope_text(l: Locale, rule: &AlertRule) -> String {
    let mut parts = Vec::new();
    if let Some(w) = &rule.workflow {
        parts.push(td_string!(l, alerts.scope.workflow, name = w.clone()));
    }
    if let Some(n) = &rule.node {
        parts.push(td_string!(l, alerts.scope.node, name = n.clone()));
    }
    if let Some(o) = &rule.owner {
        parts.push(td_string!(l, alerts.scope.owner, name = o.clone()));
    }
    if parts.is_empty() { td_string!(l, alerts.everything).to_string() } else { parts.join(", ") }
}

fn rule_event_text(l: Locale, rule: &AlertRule) -> String {
    match (rule.event, &rule.at, rule.minutes) {
        (AlertEvent::NotFinishedBy, Some(at), _) => td_string!(l, alerts.event_at, at = at.clone()),
        (AlertEvent::RunningLongerThan, _, Some(minutes)) => {
            td_string!(l, alerts.event_minutes, minutes)
        }
        (event, ..) => event.label(l).to_string(),
    }
}

#[component]
fn RuleTable(
    list: Vec<AlertRule>,
    editing: RwSignal<Option<Option<AlertRule>>>,
    tick: RwSignal<u32>,
) -> impl IntoView {
    let l = locale();
    let ui = Ui::get();
    let confirming = RwSignal::new(None::<i64>);
    let row = move |rule: AlertRule| {
        let changeable = may_change(ui, &rule.created_by);
        let (id, name) = (rule.id, rule.name.clone());
        let edited = rule.clone();
        let cooldown = if rule.cooldown_mins == 0 {
            td_string!(l, alerts.none).to_string()
        } else {
            td_string!(l, alerts.minutes, minutes = rule.cooldown_mins)
        };
        let remove = move |_| {
            spawn_local(async move {
                match delete_alert_rule(id).await {
                    Ok(()) => tick.update(|t| *t += 1),
                    Err(e) => ui.toast(e.describe(l), true),
                }
            });
        };
        view! {
            <tr data-rule=rule.name.clone()>
                <td>{rule.name.clone()}</td>
                <td>{scope_text(l, &rule)}</td>
                <td>{rule_event_text(l, &rule)}</td>
                <td class="channels">{rule.channels.iter().map(|c| view! { <div class="mono">{channel_text(c)}</div> }).collect_view()}</td>
                <td>{cooldown}</td>
                <td class="mono">{rule.created_by.clone()}</td>
                <td class="actions">{changeable.then(|| view! {
                    {move || if confirming.get() == Some(id) {
                        Either::Left(view! {
                            <span class="confirm">{td_string!(l, alerts.confirm_delete, name = name.clone())}</span>
                            <button type="button" class="danger" data-action="confirm-delete" on:click=remove>{td_string!(l, alerts.delete)}</button>
                            <button type="button" on:click=move |_| confirming.set(None)>{td_string!(l, common.button.cancel)}</button>
                        })
                    } else {
                        let edited = edited.clone();
                        Either::Right(view! {
                            <button type="button" data-action="edit" on:click=move |_| editing.set(Some(Some(edited.clone())))>{td_string!(l, alerts.edit)}</button>
                            <button type="button" class="danger" data-action="delete" on:click=move |_| confirming.set(Some(id))>{td_string!(l, alerts.delete)}</button>
                        })
                    }}
                })}</td>
            </tr>
        }
    };
    view! {
        <table class="alert-rules">
            <thead>
                <tr>
                    <th>{td_string!(l, alerts.column.name)}</th>
                    <th>{td_string!(l, alerts.column.watches)}</th>
                    <th>{td_string!(l, alerts.column.event)}</th>
                    <th>{td_string!(l, alerts.column.channels)}</th>
                    <th>{td_string!(l, alerts.column.cooldown)}</th>
                    <th>{td_string!(l, alerts.column.made_by)}</th>
                    <th></th>
                </tr>
            </thead>
            <tbody>{list.into_iter().map(row).collect_view()}</tbody>
        </table>
    }
}

const RULE_FIELDS: &[&str] =
    &["name", "event", "at", "minutes", "workflow", "node", "owner", "channels", "cooldown_mins"];

#[component]
fn RuleForm(
    rule: Option<AlertRule>,
    editing: RwSignal<Option<Option<AlertRule>>>,
    tick: RwSignal<u32>,
) -> impl IntoView {
    let l = locale();
    let id = rule.as_ref().map(|r| r.id);
    let text = |v: Option<&String>| RwSignal::new(v.cloned().unwrap_or_default());
    let name = text(rule.as_ref().map(|r| &r.name));
    let event = RwSignal::new(rule.as_ref().map_or(AlertEvent::Failed, |r| r.event));
    let at = text(rule.as_ref().and_then(|r| r.at.as_ref()));
    let minutes = RwSignal::new(
        rule.as_ref().and_then(|r| r.minutes).map(|m| m.to_string()).unwrap_or_default(),
    );
    let workflow = text(rule.as_ref().and_then(|r| r.workflow.as_ref()));
    let node = text(rule.as_ref().and_then(|r| r.node.as_ref()));
    let owner = text(rule.as_ref().and_then(|r| r.owner.as_ref()));
    let channels = RwSignal::new(
        rule.as_ref()
            .map(|r| {
                r.channels.iter().map(|c| c.target().to_string()).collect::<Vec<_>>().join("\n")
            })
            .unwrap_or_default(),
    );
    let cooldown =
        RwSignal::new(rule.as_ref().map_or("0".to_string(), |r| r.cooldown_mins.to_string()));
    let error = RwSignal::new(None::<AppError>);
    let busy = RwSignal::new(false);
    let number = |field: &str, value: String| -> Result<Option<u32>, AppError> {
        let value = value.trim().to_string();
        if value.is_empty() {
            return Ok(None);
        }
        value
            .parse::<u32>()
            .map(Some)
            .map_err(|_| AppError::because(Reason::WholeNumber { field: field.to_string() }))
    };
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let event = event.get_untracked();
        let spec = (|| -> Result<AlertRuleSpec, AppError> {
            Ok(AlertRuleSpec {
                name: name.get_untracked(),
                workflow: Some(workflow.get_untracked()),
                node: Some(node.get_untracked()),
                owner: Some(owner.get_untracked()),
                event,
                at: (event == AlertEvent::NotFinishedBy).then(|| at.get_untracked()),
                minutes: if event == AlertEvent::RunningLongerThan {
                    number("minutes", minutes.get_untracked())?
                } else {
                    None
                },
                channels: parse_channels(&channels.get_untracked()),
                cooldown_mins: number("cooldown_mins", cooldown.get_untracked())?,
            }
            .normalized())
        })();
        let spec = match spec.and_then(|s| s.check().map(|()| s)) {
            Ok(spec) => spec,
            Err(e) => return error.set(Some(e)),
        };
        busy.set(true);
        spawn_local(async move {
            match save_alert_rule(id, spec).await {
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
        text_field(l, error, value, TextField { form: "rule", label, field, hint, readonly: false })
    };
    view! {
        <form class="card rule-form" on:submit=submit>
            <h3>{if id.is_some() { td_string!(l, alerts.form.title_edit) } else { td_string!(l, alerts.form.title_new) }}</h3>
            {form_error(l, error, RULE_FIELDS)}
            <div class="form-row">
                {input(td_string!(l, alerts.form.name), "name", name, "")}
                <div class="form-field">
                    <label for="rule-event">{td_string!(l, alerts.form.event)}</label>
                    <select id="rule-event" name="event" on:change=move |ev| {
                        if let Some(e) = AlertEvent::parse(&event_target_value(&ev)) {
                            event.set(e);
                        }
                    }>
                        {AlertEvent::RULES.into_iter().map(|e| view! {
                            <option value=e.as_str() selected=move || event.get() == e>{e.label(l)}</option>
                        }).collect_view()}
                    </select>
                    {field_error(l, error, "event")}
                </div>
            </div>
            {move || (event.get() == AlertEvent::NotFinishedBy).then(|| input(td_string!(l, alerts.form.at), "at", at, "07:30"))}
            {move || (event.get() == AlertEvent::RunningLongerThan).then(|| input(td_string!(l, alerts.form.minutes), "minutes", minutes, "60"))}
            <div class="form-row three">
                {input(td_string!(l, alerts.form.workflow), "workflow", workflow, "")}
                {input(td_string!(l, alerts.form.node), "node", node, "")}
                {input(td_string!(l, alerts.form.owner), "owner", owner, "")}
            </div>
            <p class="muted hint">{td_string!(l, alerts.form.scope_hint)}</p>
            <div class="form-field">
                <label for="rule-channels">{td_string!(l, alerts.form.channels)}</label>
                <textarea id="rule-channels" name="channels" rows="3" prop:value=move || channels.get() on:input=move |ev| channels.set(event_target_value(&ev))
                    placeholder="https://hooks.example.com/…\noncall@example.com"></textarea>
                <p class="muted hint">{td_string!(l, alerts.form.channels_hint)}</p>
                {field_error(l, error, "channels")}
            </div>
            <div class="form-field">
                <label for="rule-cooldown_mins">{td_string!(l, alerts.form.cooldown)}</label>
                <input id="rule-cooldown_mins" name="cooldown_mins" prop:value=move || cooldown.get() on:input=move |ev| cooldown.set(event_target_value(&ev))/>
                <p class="muted hint">{td_string!(l, alerts.form.cooldown_hint)}</p>
                {field_error(l, error, "cooldown_mins")}
            </div>
            <div class="buttons">
                <button type="button" on:click=move |_| editing.set(None)>{td_string!(l, common.button.cancel)}</button>
                <button type="submit" class="primary" disabled=move || busy.get()>{if id.is_some() { td_string!(l, common.button.save) } else { td_string!(l, alerts.form.create) }}</button>
            </div>
        </form>
    }
}

#[component]
fn History(tick: RwSignal<u32>) -> impl IntoView {
    let l = locale();
    let status = RwSignal::new(None::<AlertStatus>);
    // The pages read so far: the cursor of each (None: the newest).
    let cursor = RwSignal::new(None::<String>);
    let page = Resource::new(
        move || (tick.get(), status.get(), cursor.get()),
        |(_, status, cursor)| {
            fetch_alerts(AlertQuery { status, cursor, limit: Some(50), ..Default::default() })
        },
    );
    view! {
        <div class="section-head">
            <h2>{td_string!(l, alerts.history)}</h2>
            <span class="spacer"></span>
            <label for="alert-status" class="visually-hidden">{td_string!(l, alerts.column.status)}</label>
            <select id="alert-status" on:change=move |ev| {
                status.set(AlertStatus::parse(&event_target_value(&ev)));
                cursor.set(None);
            }>
                <option value="">{td_string!(l, alerts.any_status)}</option>
                {AlertStatus::ALL.into_iter().map(|s| view! { <option value=s.as_str()>{status_label(l, s)}</option> }).collect_view()}
            </select>
        </div>
        <Transition fallback=move || view! { <p class="loading">{td_string!(l, alerts.loading)}</p> }>
            {move || Suspend::new(async move {
                match page.await {
                    Ok(page) if page.items.is_empty() => EitherOf3::A(view! { <p class="empty">{td_string!(l, alerts.no_alerts)}</p> }),
                    Ok(page) => {
                        let next = page.next_cursor.clone();
                        EitherOf3::B(view! {
                            <AlertTable items=page.items/>
                            <div class="buttons pager">
                                {move || cursor.get().is_some().then(|| view! {
                                    <button type="button" on:click=move |_| cursor.set(None)>{td_string!(l, alerts.newest)}</button>
                                })}
                                {next.map(|next| view! {
                                    <button type="button" data-action="older" on:click=move |_| cursor.set(Some(next.clone()))>{td_string!(l, alerts.older)}</button>
                                })}
                            </div>
                        })
                    }
                    Err(e) => EitherOf3::C(view! { <p class="error" role="alert">{e.describe(l)}</p> }),
                }
            })}
        </Transition>
    }
}

fn delivery_line(l: Locale, d: &Delivery) -> impl IntoView + use<> {
    let tries = td_string!(l, alerts.tries, count = d.tries);
    let error = d.last_error.clone();
    view! {
        <div class="delivery">
            <span class="mono">{channel_text(&d.channel)}</span>" "
            <span class=format!("badge alert-{}", d.status.as_str())>{status_label(l, d.status)}</span>" "
            <span class="muted">{tries}</span>
            {error.map(|e| view! { <div class="muted small">{e}</div> })}
        </div>
    }
}

#[component]
fn AlertTable(items: Vec<Alert>) -> impl IntoView {
    let l = locale();
    let row = move |a: Alert| {
        let instance = a.instance_id.map(|id| {
            let node = a.node.clone().unwrap_or_default();
            view! { <a href=detail_href(id)>"#"{id.0}</a>" "<span class="mono">{node}</span> }
        });
        let source = match &a.baseline {
            Some(name) => format!("{} · {}", td_string!(l, alerts.baselines.title), name),
            None => a.rule.clone(),
        };
        view! {
            <tr data-alert=a.id data-event=a.event.as_str()>
                <td><Timestamp at=Some(a.fired_at)/></td>
                <td>{source}</td>
                <td>{a.event.label(l)}</td>
                <td>{instance}</td>
                <td class="mono">{a.run_date.clone().unwrap_or_default()}</td>
                <td><span class=format!("badge alert-{}", a.status.as_str())>{status_label(l, a.status)}</span></td>
                <td>{a.deliveries.iter().map(|d| delivery_line(l, d)).collect_view()}</td>
            </tr>
        }
    };
    view! {
        <table class="alert-history">
            <thead>
                <tr>
                    <th>{td_string!(l, alerts.column.fired)}</th>
                    <th>{td_string!(l, alerts.column.rule)}</th>
                    <th>{td_string!(l, alerts.column.event)}</th>
                    <th>{td_string!(l, alerts.column.instance)}</th>
                    <th>{td_string!(l, alerts.column.run_date)}</th>
                    <th>{td_string!(l, alerts.column.status)}</th>
                    <th>{td_string!(l, alerts.column.deliveries)}</th>
                </tr>
            </thead>
            <tbody>{items.into_iter().map(row).collect_view()}</tbody>
        </table>
    }
}
