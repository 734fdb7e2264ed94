//! Business calendars: each with its holidays (dates and ranges). An administrator adds, edits
//! and deletes them; everyone signed in sees them. Nodes name a calendar in their form.

use leptos::either::{Either, EitherOf3};
use leptos::prelude::*;
use leptos::task::spawn_local;

use crate::api::{delete_calendar, fetch_calendars, save_calendar};
use crate::calendars::{Calendar, Holiday};
use crate::components::context::Ui;
use crate::components::form::{TextField, field_error, form_error, text_field};
use crate::error::AppError;
use crate::i18n::td_string;
use crate::lang::locale;
use crate::rules::{self, Permission};

/// Whether the person may change calendars (the same rule the server applies).
fn may_manage(ui: Ui) -> bool {
    ui.actor().is_some_and(|a| rules::authorize(&a, Permission::ManageProject).is_ok())
}

#[component]
pub fn CalendarsPage() -> impl IntoView {
    let l = locale();
    let ui = Ui::get();
    let tick = RwSignal::new(0u32);
    let list = Resource::new(move || tick.get(), |_| fetch_calendars());
    // None: the form is closed; Some(None): a new calendar; Some(Some(c)): that calendar.
    let editing = RwSignal::new(None::<Option<Calendar>>);
    view! {
        <section class="page calendars-page">
            <div class="page-head">
                <h1>{td_string!(l, tasks.calendars.title)}</h1>
                <span class="muted">{td_string!(l, tasks.calendars.intro)}</span>
            </div>
            <div class="section-head">
                <span class="spacer"></span>
                {move || (may_manage(ui) && editing.get().is_none()).then(|| view! {
                    <button type="button" class="primary" data-action="new-calendar" on:click=move |_| editing.set(Some(None))>{td_string!(l, tasks.calendars.add)}</button>
                })}
            </div>
            {move || editing.get().map(|calendar| view! { <CalendarForm calendar editing tick/> })}
            <Transition fallback=move || view! { <p class="loading">{td_string!(l, common.loading)}</p> }>
                {move || Suspend::new(async move {
                    match list.await {
                        Ok(list) if list.is_empty() => EitherOf3::A(view! { <p class="empty">{td_string!(l, tasks.calendars.empty)}</p> }),
                        Ok(list) => EitherOf3::B(view! {
                            <table class="calendars">
                                <thead>
                                    <tr>
                                        <th>{td_string!(l, tasks.calendars.column.name)}</th>
                                        <th>{td_string!(l, tasks.calendars.column.holidays)}</th>
                                        <th></th>
                                    </tr>
                                </thead>
                                <tbody>
                                    {list.into_iter().map(|c| view! { <CalendarRow calendar=c editing tick/> }).collect_view()}
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
fn CalendarRow(
    calendar: Calendar,
    editing: RwSignal<Option<Option<Calendar>>>,
    tick: RwSignal<u32>,
) -> impl IntoView {
    let l = locale();
    let ui = Ui::get();
    let confirming = RwSignal::new(false);
    let (row_name, delete_name) = (calendar.name.clone(), calendar.name.clone());
    let edited = calendar.clone();
    let remove = move |_| {
        let name = delete_name.clone();
        spawn_local(async move {
            match delete_calendar(name).await {
                Ok(()) => tick.update(|t| *t += 1),
                Err(e) => {
                    confirming.set(false);
                    ui.toast(e.describe(l), true)
                }
            }
        });
    };
    let holidays: Vec<Holiday> = calendar.holidays.clone();
    view! {
        <tr id=format!("calendar-{}", calendar.name) data-calendar=calendar.name.clone()>
            <td class="name">{calendar.name.clone()}</td>
            <td class="holidays"><div class="chips">
                {if holidays.is_empty() {
                    Either::Left(view! { <span class="muted">{td_string!(l, tasks.calendars.no_holidays)}</span> })
                } else {
                    Either::Right(holidays.into_iter().map(|h| view! {
                        <span class="holiday mono" class:range=matches!(h, Holiday::Range { .. })>{h.to_text().replace("..", " – ")}</span>
                    }).collect_view())
                }}
            </div></td>
            <td class="actions">{may_manage(ui).then(|| view! {
                {move || if confirming.get() {
                    Either::Left(view! {
                        <span class="confirm">{td_string!(l, tasks.calendars.confirm_delete, name = row_name.clone())}</span>
                        <button type="button" class="danger" data-action="confirm-delete" on:click=remove.clone()>{td_string!(l, tasks.calendars.delete)}</button>
                        <button type="button" on:click=move |_| confirming.set(false)>{td_string!(l, common.button.cancel)}</button>
                    })
                } else {
                    let edited = edited.clone();
                    Either::Right(view! {
                        <button type="button" data-action="edit" on:click=move |_| editing.set(Some(Some(edited.clone())))>{td_string!(l, tasks.calendars.edit)}</button>
                        <button type="button" class="danger" data-action="delete" on:click=move |_| confirming.set(true)>{td_string!(l, tasks.calendars.delete)}</button>
                    })
                }}
            })}</td>
        </tr>
    }
}

const CALENDAR_FIELDS: &[&str] = &["name", "holidays"];

#[component]
fn CalendarForm(
    calendar: Option<Calendar>,
    editing: RwSignal<Option<Option<Calendar>>>,
    tick: RwSignal<u32>,
) -> impl IntoView {
    let l = locale();
    let creating = calendar.is_none();
    let name = RwSignal::new(calendar.as_ref().map(|c| c.name.clone()).unwrap_or_default());
    let holidays =
        RwSignal::new(calendar.as_ref().map(Calendar::holidays_text).unwrap_or_default());
    let error = RwSignal::new(None::<AppError>);
    let busy = RwSignal::new(false);
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let calendar = Calendar::holidays_from_text(&holidays.get_untracked())
            .map(|holidays| {
                Calendar { name: name.get_untracked().trim().to_string(), holidays }.normalized()
            })
            .and_then(|calendar| calendar.check().map(|()| calendar));
        let calendar = match calendar {
            Ok(calendar) => calendar,
            Err(e) => return error.set(Some(e)),
        };
        busy.set(true);
        spawn_local(async move {
            match save_calendar(creating, calendar).await {
                Ok(_) => {
                    editing.set(None);
                    tick.update(|t| *t += 1);
                }
                Err(e) => error.set(Some(e)),
            }
            busy.set(false);
        });
    };
    let readonly = !creating;
    view! {
        <form class="card calendar-form" on:submit=submit>
            <h3>{if creating { td_string!(l, tasks.calendars.form.title_new) } else { td_string!(l, tasks.calendars.form.title_edit) }}</h3>
            {form_error(l, error, CALENDAR_FIELDS)}
            {text_field(l, error, name, TextField { form: "calendar", label: td_string!(l, tasks.calendars.form.name), field: "name", hint: "cn_workdays", readonly })}
            <div class="form-field">
                <label for="calendar-holidays">{td_string!(l, tasks.calendars.form.holidays)}</label>
                <textarea id="calendar-holidays" name="holidays" rows="8" class="mono" prop:value=move || holidays.get() on:input=move |ev| holidays.set(event_target_value(&ev))
                    placeholder="2026-01-01\n2026-10-01..2026-10-07"></textarea>
                <p class="muted hint">{td_string!(l, tasks.calendars.form.holidays_hint)}</p>
                {field_error(l, error, "holidays")}
            </div>
            <div class="buttons">
                <button type="button" on:click=move |_| editing.set(None)>{td_string!(l, common.button.cancel)}</button>
                <button type="submit" class="primary" disabled=move || busy.get()>{if creating { td_string!(l, tasks.calendars.form.create) } else { td_string!(l, common.button.save) }}</button>
            </div>
        </form>
    }
}
