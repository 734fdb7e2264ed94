//! An attempt's log: the whole text once it ended, a live tail while it runs, and a download.

use leptos::either::Either;
use leptos::prelude::*;
use leptos::task::spawn_local;
use leptos_router::hooks::use_query_map;

use super::detail::id_param;
use crate::api::fetch_log;
use crate::components::context::detail_href;
use crate::i18n::td_string;
use crate::lang::locale;
use crate::model::{InstanceId, LogChunk, LogRequest};

#[component]
pub fn LogPage() -> impl IntoView {
    let l = locale();
    let id = id_param();
    let query = use_query_map();
    let attempt =
        Memo::new(move |_| query.with(|q| q.get("attempt").and_then(|a| a.parse::<i32>().ok())));
    let first = Resource::new(
        move || (id.get(), attempt.get()),
        |(id, attempt)| async move {
            match id {
                Some(id) => {
                    fetch_log(id, LogRequest { attempt, offset: 0 }).await.map(|chunk| (id, chunk))
                }
                None => Err(super::detail::not_an_instance()),
            }
        },
    );
    view! {
        <section class="page log-page">
            <Transition fallback=move || view! { <p class="loading">{td_string!(l, detail.log.loading)}</p> }>
                {move || Suspend::new(async move {
                    match first.await {
                        Ok((id, chunk)) => Either::Left(view! { <LogView id first=chunk/> }),
                        Err(e) => Either::Right(view! {
                            <div class="page-head"><h1>{td_string!(l, detail.log.title)}</h1></div>
                            <p class="error" role="alert">{e.describe(l)}</p>
                        }),
                    }
                })}
            </Transition>
        </section>
    }
}

#[component]
fn LogView(id: InstanceId, first: LogChunk) -> impl IntoView {
    let l = locale();
    let attempt = first.attempt;
    let text = RwSignal::new(first.text);
    let offset = RwSignal::new(first.next_offset);
    let done = RwSignal::new(first.done);
    let failed = RwSignal::new(None::<String>);
    let pre = NodeRef::<leptos::html::Pre>::new();

    // Tail: ask for what was written since, once a second, until the attempt has ended.
    Effect::new(move |_| {
        if done.get_untracked() {
            return;
        }
        let busy = StoredValue::new(false);
        let handle = set_interval_with_handle(
            move || {
                if done.get_untracked() || busy.get_value() {
                    return;
                }
                busy.set_value(true);
                spawn_local(async move {
                    match fetch_log(
                        id,
                        LogRequest {
                            attempt: Some(attempt).filter(|a| *a > 0),
                            offset: offset.get_untracked(),
                        },
                    )
                    .await
                    {
                        Ok(chunk) => {
                            if !chunk.text.is_empty() {
                                text.update(|t| t.push_str(&chunk.text));
                                follow(pre);
                            }
                            offset.set(chunk.next_offset);
                            done.set(chunk.done);
                        }
                        Err(e) => {
                            failed.set(Some(e.describe(l)));
                            done.set(true);
                        }
                    }
                    busy.set_value(false);
                });
            },
            std::time::Duration::from_millis(1000),
        );
        if let Ok(handle) = handle {
            on_cleanup(move || handle.clear());
        }
    });

    let download = format!("/api/v1/instances/{id}/log?attempt={attempt}&download=true");
    view! {
        <div class="page-head">
            <h1>
                // "Log of #12" / "#12 的运行日志": the words around the link, when there are any.
                {Some(td_string!(l, detail.log.title_before)).filter(|t| !t.is_empty())}
                <a href=detail_href(id)>"#"{id.0}</a>
                {Some(td_string!(l, detail.log.title_after)).filter(|t| !t.is_empty())}
                {(attempt > 0).then(|| view! { <span class="muted">{td_string!(l, detail.log.attempt, attempt)}</span> })}
            </h1>
            <div class="head-actions">
                {move || {
                    if done.get() {
                        Either::Left(view! { <span class="badge state-success">{td_string!(l, detail.log.complete)}</span> })
                    } else {
                        Either::Right(view! { <span class="badge state-running live">{td_string!(l, detail.log.live)}</span> })
                    }
                }}
                {(attempt > 0).then(|| view! { <a class="button" href=download.clone() download="">{td_string!(l, detail.log.download)}</a> })}
            </div>
        </div>
        {move || failed.get().map(|e| view! { <p class="error" role="alert">{e}</p> })}
        <pre class="log" node_ref=pre data-done=move || done.get().to_string()>{move || {
            let t = text.get();
            if t.is_empty() { td_string!(l, detail.log.nothing).to_string() } else { t }
        }}</pre>
    }
}

/// Keeps the newest line in view while tailing, unless the reader scrolled up.
fn follow(pre: NodeRef<leptos::html::Pre>) {
    #[cfg(feature = "hydrate")]
    if let Some(pre) = pre.get_untracked() {
        let near_bottom = pre.scroll_height() - pre.scroll_top() - pre.client_height() < 80;
        if near_bottom {
            request_animation_frame(move || pre.set_scroll_top(pre.scroll_height()));
        }
    }
    #[cfg(not(feature = "hydrate"))]
    let _ = pre;
}
