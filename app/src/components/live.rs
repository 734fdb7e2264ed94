//! Live updates: listens to `/api/v1/events` (server-sent events) and bumps the UI tick, at most
//! twice a second, so lists and details refresh without reloading the page; the statistics'
//! tick at most every three seconds.

use leptos::prelude::*;

use super::context::Ui;

/// Bumps `tick` every `every` while the page is open, for pages whose data the event stream
/// does not cover (processes, alert rules, baselines).
pub fn refresh_every(tick: RwSignal<u32>, every: std::time::Duration) {
    #[cfg(feature = "hydrate")]
    {
        let handle = set_interval_with_handle(move || tick.update(|t| *t += 1), every);
        on_cleanup(move || {
            if let Ok(handle) = handle {
                handle.clear();
            }
        });
    }
    #[cfg(not(feature = "hydrate"))]
    let _ = (tick, every);
}

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

/// The longest the statistics of a live view lag behind changes made elsewhere.
#[cfg(feature = "hydrate")]
const COUNTS_EVERY: std::time::Duration = std::time::Duration::from_secs(3);

#[cfg(feature = "hydrate")]
fn connect(ui: Ui) {
    use std::cell::Cell;
    use std::rc::Rc;
    use wasm_bindgen::JsCast;
    use wasm_bindgen::closure::Closure;

    let Ok(source) = web_sys::EventSource::new("/api/v1/events") else { return };
    // Rows follow within half a second; the statistics at most every few seconds (each read
    // sums counts on the server; a busy system must not have every viewer recount all the time).
    let throttled = |signal: RwSignal<u64>, wait: std::time::Duration| {
        let pending = Rc::new(Cell::new(false));
        move || {
            if pending.replace(true) {
                return;
            }
            let pending = pending.clone();
            set_timeout(
                move || {
                    pending.set(false);
                    signal.update(|t| *t += 1);
                },
                wait,
            );
        }
    };
    let rows = throttled(ui.tick, std::time::Duration::from_millis(500));
    let counts = throttled(ui.counts_tick, COUNTS_EVERY);
    let on_change =
        Closure::<dyn FnMut(web_sys::MessageEvent)>::new(move |_: web_sys::MessageEvent| {
            rows();
            counts();
        });
    let _ = source.add_event_listener_with_callback("changed", on_change.as_ref().unchecked_ref());
    on_change.forget();
    // The page lives as long as the connection; the browser reconnects by itself.
    std::mem::forget(source);
}
