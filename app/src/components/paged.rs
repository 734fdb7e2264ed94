//! The skeleton of every keyset-paged table but the instance lists: the first page as the
//! server rendered it, "Load more" for the next ones, and a sentence when nothing matches.

use std::future::Future;
use std::hash::Hash;

use leptos::prelude::*;
use leptos::task::spawn_local;

use crate::error::AppError;
use crate::i18n::td_string;
use crate::lang::locale;

/// One page of a list: its rows and the cursor of the next page.
pub struct Page<T> {
    pub items: Vec<T>,
    pub next_cursor: Option<String>,
}

/// A table of `first` (then of every page `fetch` brings for the cursor it is given), one `row`
/// per item keyed by `key`. `children` is the table's head row.
#[component]
pub fn PagedTable<T, K, KF, R, RV, F, Fut>(
    first: Vec<T>,
    next: Option<String>,
    fetch: F,
    key: KF,
    row: R,
    #[prop(into)] class: String,
    #[prop(into)] empty: String,
    children: Children,
) -> impl IntoView
where
    T: Clone + Send + Sync + 'static,
    K: Eq + Hash + Send + Sync + 'static,
    KF: Fn(&T) -> K + Clone + Send + Sync + 'static,
    R: Fn(T) -> RV + Clone + Send + Sync + 'static,
    RV: IntoView + 'static,
    F: Fn(String) -> Fut + Clone + Send + Sync + 'static,
    Fut: Future<Output = Result<Page<T>, AppError>> + 'static,
{
    let l = locale();
    let rows = RwSignal::new(first);
    let cursor = RwSignal::new(next);
    let more = move |_| {
        let Some(after) = cursor.get_untracked() else { return };
        let fetch = fetch.clone();
        spawn_local(async move {
            if let Ok(page) = fetch(after).await {
                rows.update(|r| r.extend(page.items));
                cursor.set(page.next_cursor);
            }
        });
    };
    view! {
        <div class="table-wrap">
            <table class=class>
                <thead>{children()}</thead>
                <tbody>
                    <For each=move || rows.get() key=key children=row/>
                </tbody>
            </table>
            <Show when=move || rows.with(Vec::is_empty)>
                <p class="empty">{empty.clone()}</p>
            </Show>
            <div class="pager">
                <Show when=move || cursor.with(Option::is_some)>
                    <button type="button" on:click=more.clone()>{td_string!(l, common.button.load_more)}</button>
                </Show>
            </div>
        </div>
    }
}
