//! Reading instances: lists and their statistics, one instance with what it waits for, its
//! neighbourhood, its flow, its logs.

use app::error::AppError;
use app::flow::{FlowGraph, layout};
use app::model::{
    Attempt, Descendants, Instance, InstanceDetail, InstanceFilter, InstanceId, InstancePage,
    LogChunk, LogRequest, MAX_DESCENDANTS, MAX_PAGE_SIZE, PageRequest, StateCounts,
};
use app::reason::{Reason, Thing};
use app::rules::{self, Facts, Operation, Permission};
use app::usecases::Instances;
use serde::Serialize;

use super::Service;
use crate::logs;

/// The most ancestors, and the most descendants, the flow view shows.
const FLOW_LIMIT: u32 = 2_000;
/// How many past runs the duration chart shows.
const HISTORY: u32 = 30;
/// The most instances one request may ask for by id.
pub const MAX_IDS: usize = MAX_PAGE_SIZE as usize * 20;

/// An instance with its attempts (`GET /instances/{id}`).
#[derive(Debug, Serialize)]
pub struct InstanceWithAttempts {
    #[serde(flatten)]
    pub instance: Instance,
    pub attempts: Vec<Attempt>,
}

/// The instances one waits for, and the ones that wait for it.
#[derive(Debug, Serialize)]
pub struct Neighbors {
    pub upstream: Vec<Instance>,
    pub downstream: Vec<Instance>,
}

/// An attempt's whole log, to stream: `None` when the instance never started.
pub struct LogFile {
    pub node: String,
    pub file: Option<logs::WholeLog>,
}

impl Service {
    async fn existing(&self, id: InstanceId) -> Result<Instance, AppError> {
        self.store().get_instance(id).await?.ok_or_else(|| {
            AppError::because(Reason::NotFound { thing: Thing::Instance, name: id.to_string() })
        })
    }

    /// The attempt whose log to read (the latest by default), once the rules allow reading it;
    /// `None` when the instance has no attempt yet.
    /// Where this process reads logs.
    fn log_store(&self) -> logs::LogStore<'_> {
        logs::LogStore {
            data_dir: &self.engine().config().data_dir,
            shipped: self.store().is_shared().then(|| self.engine().store()),
        }
    }

    async fn log_attempt(
        &self,
        id: InstanceId,
        wanted: Option<i32>,
    ) -> Result<(Instance, Option<Attempt>), AppError> {
        self.allowed(Permission::Read)?;
        let instance = self.existing(id).await?;
        rules::check(Operation::ViewLog, Facts { state: instance.state, paused: instance.paused })?;
        let mut attempts = self.store().attempts(id).await?;
        let attempt = match wanted {
            Some(n) => Some(attempts.into_iter().find(|a| a.attempt == n).ok_or_else(|| {
                AppError::because(Reason::NoAttempt { instance: id.0, attempt: n })
            })?),
            None => attempts.pop(),
        };
        Ok((instance, attempt))
    }

    /// `GET /instances/{id}`.
    pub async fn instance(&self, id: InstanceId) -> Result<InstanceWithAttempts, AppError> {
        self.allowed(Permission::Read)?;
        let instance = self.existing(id).await?;
        Ok(InstanceWithAttempts { attempts: self.store().attempts(id).await?, instance })
    }

    /// `GET /instances/{id}/neighbors`.
    pub async fn neighbors(&self, id: InstanceId) -> Result<Neighbors, AppError> {
        self.allowed(Permission::Read)?;
        self.existing(id).await?;
        let (upstream, downstream) = self.store().neighbors(id).await?;
        Ok(Neighbors { upstream, downstream })
    }

    /// `GET /instances/{id}/log`: the latest attempt's log (or `attempt`'s), whole.
    pub async fn log_file(
        &self,
        id: InstanceId,
        attempt: Option<i32>,
    ) -> Result<LogFile, AppError> {
        let (instance, attempt) = self.log_attempt(id, attempt).await?;
        let file = match attempt {
            Some(attempt) => Some(logs::open(self.log_store(), id, &attempt).await?),
            // Stopped before it ever started: its log is empty.
            None => None,
        };
        Ok(LogFile { node: instance.node, file })
    }
}

#[async_trait::async_trait]
impl Instances for Service {
    async fn list_instances(
        &self,
        filter: InstanceFilter,
        page: PageRequest,
    ) -> Result<InstancePage, AppError> {
        self.allowed(Permission::Read)?;
        let before = page.before_id()?;
        Ok(self.store().list_instances(&filter, before, page.limit()).await?)
    }

    async fn instance_stats(&self, filter: InstanceFilter) -> Result<StateCounts, AppError> {
        self.allowed(Permission::Read)?;
        Ok(self.store().instance_stats(&filter).await?)
    }

    async fn instances_by_ids(&self, ids: Vec<InstanceId>) -> Result<Vec<Instance>, AppError> {
        self.allowed(Permission::Read)?;
        if ids.len() > MAX_IDS {
            return Err(AppError::bad_request(format!(
                "at most {MAX_IDS} instances can be asked for at once"
            )));
        }
        Ok(self.store().instances_by_ids(&ids).await?)
    }

    async fn instance_detail(&self, id: InstanceId) -> Result<InstanceDetail, AppError> {
        self.allowed(Permission::Read)?;
        let store = self.store();
        let instance = self.existing(id).await?;
        let waiting = match store.wait_facts(id).await? {
            Some(facts) => crate::explain::waiting_for(&instance, &facts, self.now()),
            None => Vec::new(),
        };
        let english = |w: &app::waiting::Waiting| w.describe(app::lang::Locale::en);
        let waiting_for = waiting.iter().map(english).collect();
        let (upstream, downstream) = store.neighbors(id).await?;
        Ok(InstanceDetail {
            attempts: store.attempts(id).await?,
            history: store.history(id, HISTORY).await?,
            instance,
            waiting_for,
            waiting,
            upstream,
            downstream,
        })
    }

    async fn flow(&self, id: InstanceId) -> Result<FlowGraph, AppError> {
        self.allowed(Permission::Read)?;
        self.existing(id).await?;
        let (instances, edges, truncated) = self.store().flow_around(id, FLOW_LIMIT).await?;
        Ok(layout(id, instances, &edges, truncated))
    }

    async fn descendants(&self, id: InstanceId) -> Result<Descendants, AppError> {
        self.allowed(Permission::Read)?;
        self.existing(id).await?;
        let mut items = self.store().descendants(id, MAX_DESCENDANTS + 1).await?;
        let truncated = items.len() > MAX_DESCENDANTS as usize;
        items.truncate(MAX_DESCENDANTS as usize);
        Ok(Descendants { items, truncated })
    }

    async fn log_chunk(&self, id: InstanceId, request: LogRequest) -> Result<LogChunk, AppError> {
        let (_, attempt) = self.log_attempt(id, request.attempt).await?;
        match attempt {
            Some(attempt) => logs::read_chunk(self.log_store(), id, &attempt, request.offset).await,
            None => Ok(LogChunk { attempt: 0, text: String::new(), next_offset: 0, done: true }),
        }
    }
}
