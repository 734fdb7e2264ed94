//! Live updates: listens to `/api/v1/events` (server-sent events) and bumps the UI tick, at most
//! twice a second, so lists, counters and details refresh without reloading the page.

use leptos::prelude::*;

use super::context::Ui;

/// Renders nothing; connects once the page is interactive and someone is signed in.
#[component]
pub fn LiveUpdates() -> impl IntoView {
    #[cfg(feature = "hydrate")]
    {
        let ui = Ui::get();
        // Only for someone signed in: the stream answers nobody else (the login page).
        Effect::new(move |connected: Option<bool>| {
            if connected == Some(true) {
                return true;
            }
            let signed_in = ui.actor().is_some();
            if signed_in {
                connect(ui);
            }
            signed_in
        });
    }
    #[cfg(not(feature = "hydrate"))]
    let _ = Ui::get;
}

#[cfg(feature = "hydrate")]
fn connect(ui: Ui) {
    use std::cell::Cell;
    use std::rc::Rc;
    use wasm_bindgen::JsCast;
    use wasm_bindgen::closure::Closure;

    let Ok(source) = web_sys::EventSource::new("/api/v1/events") else { return };
    let pending = Rc::new(Cell::new(false));
    let on_change =
        Closure::<dyn FnMut(web_sys::MessageEvent)>::new(move |_: web_sys::MessageEvent| {
            if pending.replace(true) {
                return;
            }
            let pending = pending.clone();
            set_timeout(
                move || {
                    pending.set(false);
                    ui.refresh();
                },
                std::time::Duration::from_millis(500),
            );
        });
    let _ = source.add_event_listener_with_callback("changed", on_change.as_ref().unchecked_ref());
    on_change.forget();
    // The page lives as long as the connection; the browser reconnects by itself.
    std::mem::forget(source);
}
