//! Group commit for the executor: started processes and finished attempts arrive on a channel
//! and are written together, one transaction per batch. Under load (a hundred commands ending
//! in the same millisecond) this turns hundreds of small write transactions into a few; alone,
//! an attempt is recorded as soon as it arrives.

use tokio::sync::{mpsc, oneshot};

use crate::store::{Finish, FinishedAttempt, StartedProcess, Store};

/// The most records written in one transaction.
const MAX_BATCH: usize = 1000;

enum Record {
    Started(StartedProcess),
    Finished(FinishedAttempt, oneshot::Sender<Result<Finish, String>>),
}

#[derive(Clone)]
pub struct Recorder {
    queue: mpsc::UnboundedSender<Record>,
}

impl Recorder {
    /// Starts the writing task; it ends when the last `Recorder` is dropped.
    pub fn start(store: Store) -> Recorder {
        let (queue, incoming) = mpsc::unbounded_channel();
        tokio::spawn(write_batches(store, incoming));
        Recorder { queue }
    }

    /// Records a started process (without waiting for the write).
    pub fn started(&self, process: StartedProcess) {
        if self.queue.send(Record::Started(process)).is_err() {
            tracing::error!(
                instance = process.instance_id.0,
                "the recorder has stopped; pid not recorded"
            );
        }
    }

    /// Records the end of an attempt and returns what it did to the instance.
    pub async fn finished(&self, attempt: FinishedAttempt) -> Result<Finish, String> {
        let (reply, answer) = oneshot::channel();
        self.queue
            .send(Record::Finished(attempt, reply))
            .map_err(|_| "the recorder has stopped".to_string())?;
        answer.await.map_err(|_| "the recorder has stopped".to_string())?
    }
}

async fn write_batches(store: Store, mut incoming: mpsc::UnboundedReceiver<Record>) {
    let mut batch = Vec::new();
    while incoming.recv_many(&mut batch, MAX_BATCH).await > 0 {
        let mut started = Vec::new();
        let mut finished = Vec::new();
        let mut replies = Vec::new();
        for record in batch.drain(..) {
            match record {
                Record::Started(process) => started.push(process),
                Record::Finished(attempt, reply) => {
                    finished.push(attempt);
                    replies.push(reply);
                }
            }
        }
        // While the database cannot be reached, the same batch is tried again (every ~2 s at
        // most): the commands' ends are kept until they are written, not dropped. (A batch is
        // one transaction, so a failed try wrote nothing.)
        let mut pause = std::time::Duration::from_millis(100);
        let result = loop {
            match store.record_attempts(&started, &finished).await {
                Err(e) if e.is_unavailable() => {
                    tracing::warn!(error = %e, started = started.len(), finished = finished.len(), "the database is unreachable; recording again soon");
                    tokio::time::sleep(pause).await;
                    pause = (pause * 2).min(std::time::Duration::from_secs(2));
                }
                other => break other,
            }
        };
        match result {
            Ok(done) => {
                for (reply, finish) in replies.into_iter().zip(done) {
                    let _ = reply.send(Ok(finish));
                }
            }
            Err(e) => {
                tracing::error!(error = %e, started = started.len(), finished = finished.len(), "could not record attempts");
                for reply in replies {
                    let _ = reply.send(Err(e.to_string()));
                }
            }
        }
    }
}
