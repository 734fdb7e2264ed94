//! Attempt logs on disk: where an attempt's log lives (the one place that knows the layout)
//! and reading one in pieces for the live tail.

use std::path::Path;

use app::error::AppError;
use app::model::{Attempt, InstanceId, LogChunk};
use chrono::NaiveDate;
use tokio::io::{AsyncReadExt, AsyncSeekExt};

/// The most bytes one piece carries.
pub const CHUNK: u64 = 256 * 1024;

/// Where an attempt's log goes, relative to the data directory:
/// `logs/<run date>/<instance % 64>/<instance>.<attempt>.log` (the fan-out keeps concurrent file
/// creation from queueing on one directory lock).
pub fn attempt_log_path(run_date: NaiveDate, id: InstanceId, attempt: i32) -> String {
    format!("logs/{run_date}/{}/{id}.{attempt}.log", id.0 % 64)
}

/// The log of `attempt` (under `data_dir`) from byte `offset` on, at most [`CHUNK`] bytes.
pub async fn read_chunk(
    data_dir: &Path,
    attempt: &Attempt,
    offset: u64,
) -> Result<LogChunk, AppError> {
    let path = data_dir.join(&attempt.log_path);
    let mut file = match tokio::fs::File::open(&path).await {
        Ok(file) => file,
        Err(_) if attempt.ended_at.is_none() => {
            // Claimed, not yet started: nothing written so far.
            return Ok(LogChunk {
                attempt: attempt.attempt,
                text: String::new(),
                next_offset: 0,
                done: false,
            });
        }
        Err(e) => return Err(missing(&path, attempt, e)),
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
    let done = attempt.ended_at.is_some() && next_offset >= length;
    Ok(LogChunk { attempt: attempt.attempt, text, next_offset, done })
}

/// The whole log of `attempt`, opened for streaming.
pub async fn open(data_dir: &Path, attempt: &Attempt) -> Result<tokio::fs::File, AppError> {
    let path = data_dir.join(&attempt.log_path);
    tokio::fs::File::open(&path).await.map_err(|e| missing(&path, attempt, e))
}

fn missing(path: &Path, attempt: &Attempt, error: std::io::Error) -> AppError {
    tracing::error!(path = %path.display(), %error, "log unreadable");
    AppError::because(app::reason::Reason::LogMissing { attempt: attempt.attempt })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn logs_fan_out_by_date_and_instance() {
        let date = NaiveDate::from_ymd_opt(2026, 12, 2).unwrap();
        assert_eq!(attempt_log_path(date, InstanceId(130), 2), "logs/2026-12-02/2/130.2.log");
    }
}
