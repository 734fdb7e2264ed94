//! What happens, told to everyone who listens: this process's live views and loops at once, and,
//! on a database several processes share, every other process too (through the store's
//! publish/subscribe: PostgreSQL's LISTEN/NOTIFY). Events are batched for a few milliseconds
//! and sent as one message; a message that would be too long says "possibly many" instead of
//! listing its instances.

use std::sync::Arc;
use std::time::Duration;

use futures_util::StreamExt;
use serde::Deserialize;
use tokio::sync::{Notify, broadcast, mpsc};
use tokio_util::sync::CancellationToken;

use super::EngineEvent;
use crate::store::Store;

/// A name for this engine that no other process (or engine of this process) has.
pub fn process_id(name: &str) -> String {
    static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or_default();
    format!("{name}/{}/{n}/{nanos}", std::process::id())
}

/// PostgreSQL refuses a NOTIFY payload of 8000 bytes or more.
const MAX_MESSAGE: usize = 7000;
/// How long events gather before they are sent together.
const BATCH: Duration = Duration::from_millis(20);

/// Where events go: the local listeners, and the other processes when there are any.
#[derive(Clone)]
pub struct Events {
    local: broadcast::Sender<EngineEvent>,
    outbox: Option<mpsc::UnboundedSender<EngineEvent>>,
}

/// What one NOTIFY carries (written piece by piece in `messages`, read back whole).
#[derive(Deserialize)]
struct Message {
    /// The process that sent it (its own messages come back to it).
    from: String,
    events: Vec<EngineEvent>,
}

impl Events {
    /// The sender of this process's events; `shared` when other processes must hear them (the
    /// receiving end is [`Events::start`]'s).
    pub fn new(shared: bool) -> (Events, Option<mpsc::UnboundedReceiver<EngineEvent>>) {
        let (local, _) = broadcast::channel(1024);
        if shared {
            let (outbox, inbox) = mpsc::unbounded_channel();
            (Events { local, outbox: Some(outbox) }, Some(inbox))
        } else {
            (Events { local, outbox: None }, None)
        }
    }

    /// Tells everyone.
    pub fn send(&self, event: EngineEvent) {
        if let Some(outbox) = &self.outbox {
            let _ = outbox.send(event.clone());
        }
        let _ = self.local.send(event);
    }

    pub fn subscribe(&self) -> broadcast::Receiver<EngineEvent> {
        self.local.subscribe()
    }

    /// Sends this process's events to the others and hands theirs to the local listeners,
    /// waking `wake` (the dispatcher) and `operated` (the worker's check of what it runs) as
    /// they arrive.
    pub async fn start(
        &self,
        store: Store,
        inbox: mpsc::UnboundedReceiver<EngineEvent>,
        me: String,
        wake: Arc<Notify>,
        operated: Arc<Notify>,
        cancel: CancellationToken,
    ) -> crate::store::Result<()> {
        let Some(mut messages) = store.subscribe().await? else { return Ok(()) };
        tokio::spawn(publish(store, inbox, me.clone(), cancel.clone()));
        let local = self.local.clone();
        tokio::spawn(async move {
            loop {
                let message = tokio::select! {
                    _ = cancel.cancelled() => return,
                    message = messages.next() => match message {
                        Some(message) => message,
                        None => return,
                    },
                };
                let Ok(message) = serde_json::from_str::<Message>(&message) else { continue };
                if message.from == me {
                    continue;
                }
                for event in message.events {
                    if matches!(event, EngineEvent::Operated { .. }) {
                        operated.notify_one();
                    }
                    let _ = local.send(event);
                }
                wake.notify_one();
            }
        });
        Ok(())
    }
}

/// Tells the running processes of a shared database about one event (from a command such as
/// `nightshift snapshot`, which runs no engine).
pub async fn tell(store: &Store, event: EngineEvent) -> crate::store::Result<()> {
    if store.is_shared() {
        for message in messages(&process_id("command"), vec![event]) {
            store.publish(&message).await?;
        }
    }
    Ok(())
}

async fn publish(
    store: Store,
    mut inbox: mpsc::UnboundedReceiver<EngineEvent>,
    me: String,
    cancel: CancellationToken,
) {
    loop {
        let first = tokio::select! {
            _ = cancel.cancelled() => return,
            event = inbox.recv() => match event { Some(event) => event, None => return },
        };
        tokio::time::sleep(BATCH).await;
        let mut events = vec![first];
        while let Ok(event) = inbox.try_recv() {
            events.push(event);
        }
        for message in messages(&me, events) {
            if let Err(error) = store.publish(&message).await {
                tracing::warn!(%error, "could not tell the other processes");
            }
        }
    }
}

/// The events as messages under the size limit: each event is encoded once (one without its
/// instances when it alone would be too long) and the messages are assembled from the pieces.
fn messages(me: &str, events: Vec<EngineEvent>) -> Vec<String> {
    let encode = |event: &EngineEvent| serde_json::to_string(event).expect("events serialize");
    let head = format!(r#"{{"from":{},"events":["#, serde_json::to_string(me).expect("a string"));
    let (tail, comma) = ("]}", 1);
    let mut out = Vec::new();
    let mut message = head.clone();
    for event in events {
        let mut piece = encode(&event);
        if head.len() + piece.len() + tail.len() > MAX_MESSAGE {
            piece = encode(&event.without_instances());
        }
        let separator = if message.len() > head.len() { comma } else { 0 };
        if message.len() + separator + piece.len() + tail.len() > MAX_MESSAGE {
            message.push_str(tail);
            out.push(std::mem::replace(&mut message, head.clone()));
        } else if separator > 0 {
            message.push(',');
        }
        message.push_str(&piece);
    }
    if message.len() > head.len() {
        message.push_str(tail);
        out.push(message);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use app::model::InstanceId;

    #[test]
    fn messages_stay_under_the_limit_and_lose_no_event() {
        let many = EngineEvent::Operated { instances: (0..5000).map(InstanceId).collect() };
        let few = |i| EngineEvent::Started { instances: vec![InstanceId(i)], waited_ms: vec![3] };
        let mut events = vec![many];
        events.extend((0..400).map(few));
        let sent = messages("me", events);
        assert!(sent.len() > 1);
        let mut count = 0;
        for message in &sent {
            assert!(message.len() <= MAX_MESSAGE, "{}", message.len());
            let message: Message = serde_json::from_str(message).unwrap();
            count += message.events.len();
        }
        assert_eq!(count, 401);
        let first: Message = serde_json::from_str(&sent[0]).unwrap();
        assert_eq!(first.events[0], EngineEvent::Operated { instances: Vec::new() });
    }
}
