//! The pieces every form shares: a refusal shown at its field (`data-field`), one about no field
//! of the form shown at its top, and a labelled one-line text field with its refusal. The node,
//! alert rule and baseline forms are built from them.

use leptos::prelude::*;

use crate::error::AppError;
use crate::i18n::Locale;

/// The refusal of `field`, if the error is about it.
pub fn field_error(
    l: Locale,
    error: RwSignal<Option<AppError>>,
    field: &'static str,
) -> impl Fn() -> Option<AnyView> + Send + Sync + 'static {
    move || {
        error
            .with(|e| {
                e.as_ref().filter(|e| e.field.as_deref() == Some(field)).map(|e| e.describe(l))
            })
            .map(|m| {
                view! { <p class="field-error" role="alert" data-field=field>{m}</p> }.into_any()
            })
    }
}

/// The refusal of none of the form's `fields`, shown at its top.
pub fn form_error(
    l: Locale,
    error: RwSignal<Option<AppError>>,
    fields: &'static [&'static str],
) -> impl Fn() -> Option<AnyView> + Send + Sync + 'static {
    move || {
        error
            .with(|e| {
                e.as_ref()
                    .filter(|e| e.field.as_deref().is_none_or(|f| !fields.contains(&f)))
                    .map(|e| e.describe(l))
            })
            .map(|m| view! { <p class="error" role="alert">{m}</p> }.into_any())
    }
}

/// What a text field shows.
pub struct TextField {
    /// The form's name, the start of the input's id (`node` → `node-name`).
    pub form: &'static str,
    pub label: &'static str,
    pub field: &'static str,
    pub hint: &'static str,
    pub readonly: bool,
}

/// A labelled one-line text field bound to `value`, with its refusal under it.
pub fn text_field(
    l: Locale,
    error: RwSignal<Option<AppError>>,
    value: RwSignal<String>,
    shown: TextField,
) -> impl IntoView {
    let TextField { form, label, field, hint, readonly } = shown;
    view! {
        <div class="form-field">
            <label for=format!("{form}-{field}")>{label}</label>
            <input id=format!("{form}-{field}") name=field prop:value=move || value.get() on:input=move |ev| value.set(event_target_value(&ev))
                placeholder=hint readonly=readonly/>
            {field_error(l, error, field)}
        </div>
    }
}
