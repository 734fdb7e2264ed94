//! Reading an attempt's log in pieces, for the live tail in the UI.

use app::error::AppError;
use app::model::{InstanceId, LogChunk};
use app::rules::{self, Facts, Operation};
use tokio::io::{AsyncReadExt, AsyncSeekExt};

use crate::engine::Engine;

/// The most bytes one piece carries.
pub const CHUNK: u64 = 256 * 1024;

/// The log of `attempt` (default: the latest) from byte `offset` on, at most [`CHUNK`] bytes.
pub async fn read_chunk(
    engine: &Engine,
    id: InstanceId,
    attempt: Option<i32>,
    offset: u64,
) -> Result<LogChunk, AppError> {
    let store = engine.store();
    let instance = store
        .get_instance(id)
        .await?
        .ok_or_else(|| AppError::not_found(format!("no instance {id}")))?;
    rules::check(Operation::ViewLog, Facts { state: instance.state, paused: instance.paused })
        .map_err(|refusal| AppError::conflict(refusal.reason))?;
    let attempts = store.attempts(id).await?;
    let chosen = match attempt {
        Some(n) => Some(
            attempts
                .iter()
                .find(|a| a.attempt == n)
                .ok_or_else(|| AppError::not_found(format!("instance {id} has no attempt {n}")))?,
        ),
        None => attempts.last(),
    };
    let Some(chosen) = chosen else {
        return Ok(LogChunk { attempt: 0, text: String::new(), next_offset: 0, done: true });
    };
    let path = engine.config().data_dir.join(&chosen.log_path);
    let mut file = match tokio::fs::File::open(&path).await {
        Ok(file) => file,
        Err(_) if chosen.ended_at.is_none() => {
            // Claimed, not yet started: nothing written so far.
            return Ok(LogChunk {
                attempt: chosen.attempt,
                text: String::new(),
                next_offset: 0,
                done: false,
            });
        }
        Err(e) => {
            tracing::error!(path = %path.display(), error = %e, "log unreadable");
            return Err(AppError::not_found(format!(
                "the log of attempt {} is missing",
                chosen.attempt
            )));
        }
    };
    let length = file.metadata().await.map(|m| m.len()).unwrap_or(0);
    let start = offset.min(length);
    file.seek(std::io::SeekFrom::Start(start))
        .await
        .map_err(|e| AppError::internal(e.to_string()))?;
    let mut bytes = Vec::new();
    file.take(CHUNK)
        .read_to_end(&mut bytes)
        .await
        .map_err(|e| AppError::internal(e.to_string()))?;
    // Never cut a UTF-8 character in half: stop before an incomplete one at the end.
    let mut keep = bytes.len();
    if let Err(e) = std::str::from_utf8(&bytes)
        && e.error_len().is_none()
    {
        keep = e.valid_up_to();
    }
    let text = String::from_utf8_lossy(&bytes[..keep]).into_owned();
    let next_offset = start + keep as u64;
    let done = chosen.ended_at.is_some() && next_offset >= length;
    Ok(LogChunk { attempt: chosen.attempt, text, next_offset, done })
}
