//! Attempt logs: where an attempt's log lives on its worker's disk (the one place that knows the
//! layout), and reading one, whole or in pieces for the live tail, from this machine's disk or,
//! on a shared database, from the copy its worker shipped there (`engine::shipping`).

use std::path::Path;

use app::error::AppError;
use app::model::{Attempt, InstanceId, LogChunk};
use chrono::NaiveDate;
use tokio::io::{AsyncReadExt, AsyncSeekExt};

use crate::store::Store;

/// The most bytes one piece carries.
pub const CHUNK: u64 = 256 * 1024;

/// Where an attempt's log goes, relative to the data directory:
/// `logs/<run date>/<instance % 64>/<instance>.<attempt>.log` (the fan-out keeps concurrent file
/// creation from queueing on one directory lock).
pub fn attempt_log_path(run_date: NaiveDate, id: InstanceId, attempt: i32) -> String {
    format!("logs/{run_date}/{}/{id}.{attempt}.log", id.0 % 64)
}

/// Where logs are read: this machine's data directory, and the shipped copies when the database
/// is shared.
pub struct LogStore<'a> {
    pub data_dir: &'a Path,
    pub shipped: Option<&'a Store>,
}

/// The log of `attempt` of instance `id` from byte `offset` on, at most [`CHUNK`] bytes.
pub async fn read_chunk(
    logs: LogStore<'_>,
    id: InstanceId,
    attempt: &Attempt,
    offset: u64,
) -> Result<LogChunk, AppError> {
    let path = logs.data_dir.join(&attempt.log_path);
    let mut file = match tokio::fs::File::open(&path).await {
        Ok(file) => file,
        Err(error) => {
            // Not on this machine: the copy its worker shipped, if the database is shared.
            let shipped = match logs.shipped {
                Some(store) => store.shipped_log(id, attempt.attempt, offset, CHUNK).await?,
                None => None,
            };
            return match shipped {
                Some(bytes) => {
                    let done = attempt.ended_at.is_some() && (bytes.len() as u64) < CHUNK;
                    Ok(piece(attempt, offset, &bytes, done))
                }
                // Claimed, not yet started: nothing written so far.
                None if attempt.ended_at.is_none() => Ok(piece(attempt, 0, &[], false)),
                None => Err(missing(&path, attempt, error)),
            };
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
    let mut chunk = piece(attempt, start, &bytes, false);
    chunk.done = attempt.ended_at.is_some() && chunk.next_offset >= length;
    Ok(chunk)
}

/// `bytes` read from `start`, as text that never cuts a UTF-8 character in half (it stops
/// before an incomplete one at the end).
fn piece(attempt: &Attempt, start: u64, bytes: &[u8], done: bool) -> LogChunk {
    let mut keep = bytes.len();
    if let Err(e) = std::str::from_utf8(bytes)
        && e.error_len().is_none()
    {
        keep = e.valid_up_to();
    }
    let text = String::from_utf8_lossy(&bytes[..keep]).into_owned();
    LogChunk { attempt: attempt.attempt, text, next_offset: start + keep as u64, done }
}

/// A whole log: a file on this machine, or the shipped copy.
pub enum WholeLog {
    File(tokio::fs::File),
    Shipped(Vec<u8>),
}

/// The whole log of `attempt` of instance `id`, for streaming.
pub async fn open(
    logs: LogStore<'_>,
    id: InstanceId,
    attempt: &Attempt,
) -> Result<WholeLog, AppError> {
    let path = logs.data_dir.join(&attempt.log_path);
    match tokio::fs::File::open(&path).await {
        Ok(file) => Ok(WholeLog::File(file)),
        Err(error) => {
            if let Some(store) = logs.shipped {
                let mut all = Vec::new();
                while let Some(bytes) =
                    store.shipped_log(id, attempt.attempt, all.len() as u64, 4 * CHUNK).await?
                    && !bytes.is_empty()
                {
                    all.extend_from_slice(&bytes);
                }
                if !all.is_empty() {
                    return Ok(WholeLog::Shipped(all));
                }
            }
            Err(missing(&path, attempt, error))
        }
    }
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
