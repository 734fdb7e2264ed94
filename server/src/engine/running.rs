//! The attempts this server is running, so an operation can stop one and know when its process
//! is really gone. The dispatcher registers each claimed attempt under the claim lock; the
//! executor holds the [`RunningGuard`] until the attempt's end is recorded.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use app::model::InstanceId;
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

#[derive(Default)]
pub struct Running {
    entries: Mutex<HashMap<InstanceId, Entry>>,
}

struct Entry {
    attempt: i32,
    /// A dry run runs no command, so it takes none of the worker's slots.
    dry_run: bool,
    stop: CancellationToken,
    /// Becomes `true` when the attempt is over (its process group is gone and recorded).
    done: watch::Receiver<bool>,
}

/// Held by the executor for the life of an attempt.
pub struct RunningGuard {
    running: Arc<Running>,
    id: InstanceId,
    attempt: i32,
    pub stop: CancellationToken,
    done: watch::Sender<bool>,
}

/// Waits for a stopped attempt to be over.
pub struct Stopping {
    done: watch::Receiver<bool>,
}

impl Stopping {
    pub async fn wait(mut self) {
        let _ = self.done.wait_for(|done| *done).await;
    }
}

impl Running {
    pub fn register(self: &Arc<Self>, id: InstanceId, attempt: i32, dry_run: bool) -> RunningGuard {
        let stop = CancellationToken::new();
        let (done, watcher) = watch::channel(false);
        let entry = Entry { attempt, dry_run, stop: stop.clone(), done: watcher };
        self.entries.lock().expect("not poisoned").insert(id, entry);
        RunningGuard { running: self.clone(), id, attempt, stop, done }
    }

    /// Asks the running attempt of `id` to stop; the returned handle resolves when it is over.
    /// `None` if this server runs no attempt of that instance.
    pub fn stop(&self, id: InstanceId) -> Option<Stopping> {
        let entries = self.entries.lock().expect("not poisoned");
        let entry = entries.get(&id)?;
        entry.stop.cancel();
        Some(Stopping { done: entry.done.clone() })
    }

    /// The instances whose attempts this server runs.
    pub fn ids(&self) -> Vec<InstanceId> {
        self.entries.lock().expect("not poisoned").keys().copied().collect()
    }

    /// The attempts this server runs.
    pub fn attempts(&self) -> Vec<(InstanceId, i32)> {
        self.entries.lock().expect("not poisoned").iter().map(|(id, e)| (*id, e.attempt)).collect()
    }

    /// Whether this server runs no attempt at all (dry runs included).
    pub fn is_empty(&self) -> bool {
        self.entries.lock().expect("not poisoned").is_empty()
    }

    /// The commands this server runs (its dry runs run none).
    pub fn commands(&self) -> usize {
        self.entries.lock().expect("not poisoned").values().filter(|e| !e.dry_run).count()
    }

    pub fn is_running(&self, id: InstanceId) -> bool {
        self.entries.lock().expect("not poisoned").contains_key(&id)
    }
}

impl Drop for RunningGuard {
    fn drop(&mut self) {
        let mut entries = self.running.entries.lock().expect("not poisoned");
        if entries.get(&self.id).is_some_and(|e| e.attempt == self.attempt) {
            entries.remove(&self.id);
        }
        drop(entries);
        self.done.send_replace(true);
    }
}
