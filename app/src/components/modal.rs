//! The one dialog frame of the UI: a title over the page, closed by a click outside (or
//! Escape, which the action menu's listener handles for every dialog).

use leptos::prelude::*;

use super::context::Ui;

/// A dialog over the page; a click outside closes it.
#[component]
pub fn Modal(title: String, children: Children) -> impl IntoView {
    let ui = Ui::get();
    let label = title.clone();
    view! {
        <div class="overlay" on:click=move |_| ui.dialog.set(None)>
            <div
                class="dialog"
                role="dialog"
                aria-modal="true"
                aria-label=label
                on:click=|ev| ev.stop_propagation()
            >
                <h2>{title}</h2>
                {children()}
            </div>
        </div>
    }
}
