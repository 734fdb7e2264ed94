use leptos::prelude::*;

use super::context::Ui;

#[component]
pub fn Toasts() -> impl IntoView {
    let ui = Ui::get();
    view! {
        <div class="toasts" role="status" aria-live="polite">
            <For each=move || ui.toasts.get() key=|t| t.id let:toast>
                <div class="toast" class:error=toast.error>{toast.text}</div>
            </For>
        </div>
    }
}
