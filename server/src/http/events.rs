//! `GET /api/v1/events`: server-sent events telling live views which instances changed
//! (`event: changed`, `data: {"instances": [ids]}`; an empty list means "possibly many").

use std::convert::Infallible;
use std::time::Duration;

use axum::extract::State;
use axum::response::sse::{Event, KeepAlive, Sse};
use futures_util::{Stream, StreamExt};
use tokio::sync::broadcast::error::RecvError;

use crate::service::Core;

pub async fn events(
    State(core): State<Core>,
) -> Sse<impl Stream<Item = Result<Event, Infallible>>> {
    let engine = core.engine;
    let receiver = engine.subscribe();
    // A first comment sends the response head at once; the stream ends when the server stops.
    let hello = futures_util::stream::once(async { Ok(Event::default().comment("connected")) });
    let changes = futures_util::stream::unfold(receiver, |mut receiver| async move {
        let instances = loop {
            match receiver.recv().await {
                Ok(event) if event.changes_instances() => break event.instances(),
                Ok(_) => {}
                // Too many at once: tell the view to refresh everything it shows.
                Err(RecvError::Lagged(_)) => break Vec::new(),
                Err(RecvError::Closed) => return None,
            }
        };
        let data = serde_json::json!({ "instances": instances }).to_string();
        Some((Ok(Event::default().event("changed").data(data)), receiver))
    });
    let stopped = async move { engine.stopped().await };
    let stream = hello.chain(changes).take_until(Box::pin(stopped));
    Sse::new(stream).keep_alive(KeepAlive::new().interval(Duration::from_secs(15)))
}
