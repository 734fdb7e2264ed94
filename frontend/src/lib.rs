#![recursion_limit = "256"]
//! The browser entry point: hydrates the server-rendered page. Nothing else lives here.

#[wasm_bindgen::prelude::wasm_bindgen]
pub fn hydrate() {
    console_error_panic_hook::set_once();
    // Asynchronous: a page split out of the bundle (`app::pages::lazy`) is fetched before it
    // hydrates. Only then is the page marked interactive.
    wasm_bindgen_futures::spawn_local(async {
        let body = leptos::prelude::document().body().expect("a page has a body");
        leptos::mount::hydrate_from_async(body, app::App).await.forget();
        app::mark_hydrated();
    });
}
