//! Logs shipped into a shared database: while an attempt runs, what its log gained is copied
//! into the store every second, and the rest once it is over (before its end is recorded), so
//! every API process, on any machine, reads and tails it, and a worker that is gone leaves its
//! logs readable. Chosen over workers serving their logs: nothing to expose on the workers, no
//! second authentication, and nothing lost with a machine. The worker's own file stays the
//! command's output (a descriptor of it, never a pipe through the server).

use std::path::PathBuf;
use std::time::Duration;

use app::model::InstanceId;
use tokio::io::{AsyncReadExt, AsyncSeekExt};
use tokio_util::sync::CancellationToken;

use crate::store::Store;

/// How often a running attempt's log is shipped.
const EVERY: Duration = Duration::from_secs(1);

/// The most bytes shipped in one go.
const MOST: u64 = 4 * 1024 * 1024;

pub struct Shipping {
    done: CancellationToken,
    task: tokio::task::JoinHandle<()>,
}

impl Shipping {
    /// Ships the log at `path`; `resume`: after what an earlier process shipped (an adopted
    /// attempt), else from the start.
    pub fn start(
        store: Store,
        path: PathBuf,
        id: InstanceId,
        attempt: i32,
        resume: bool,
    ) -> Shipping {
        let done = CancellationToken::new();
        let over = done.clone();
        let task = tokio::spawn(async move {
            let mut shipped =
                if resume { store.shipped_end(id, attempt).await.unwrap_or(0) } else { 0 };
            let mut failures = 0;
            loop {
                let last = tokio::select! {
                    _ = over.cancelled() => true,
                    _ = tokio::time::sleep(EVERY) => false,
                };
                // Everything there is, in pieces, when the attempt is over.
                loop {
                    match ship(&store, &path, id, attempt, shipped).await {
                        Ok(0) => break,
                        Ok(n) => shipped += n,
                        // The last pieces are worth a few tries.
                        Err(error) if last && failures < 5 => {
                            failures += 1;
                            tracing::warn!(%error, "could not ship a log; trying again");
                            tokio::time::sleep(Duration::from_millis(200)).await;
                        }
                        Err(error) => {
                            tracing::warn!(%error, "could not ship a log");
                            break;
                        }
                    }
                    if !last {
                        break;
                    }
                }
                if last {
                    return;
                }
            }
        });
        Shipping { done, task }
    }

    /// Ships the rest and returns once it is in the store.
    pub async fn finish(self) {
        self.done.cancel();
        let _ = self.task.await;
    }
}

/// Ships what the log has from `from` on (at most [`MOST`]); returns how many bytes.
async fn ship(
    store: &Store,
    path: &PathBuf,
    id: InstanceId,
    attempt: i32,
    from: u64,
) -> Result<u64, String> {
    let mut file = match tokio::fs::File::open(path).await {
        Ok(file) => file,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(0),
        Err(e) => return Err(e.to_string()),
    };
    file.seek(std::io::SeekFrom::Start(from)).await.map_err(|e| e.to_string())?;
    let mut bytes = Vec::new();
    file.take(MOST).read_to_end(&mut bytes).await.map_err(|e| e.to_string())?;
    if bytes.is_empty() {
        return Ok(0);
    }
    store.ship_log(id, attempt, from, &bytes).await.map_err(|e| e.to_string())?;
    Ok(bytes.len() as u64)
}
