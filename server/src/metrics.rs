//! `GET /metrics` in the Prometheus text format (prometheus-client). An API process counts what
//! it hears on the engine's events, which on a shared database are every process's: attempts by
//! outcome, how long started instances waited for a slot, how long snapshots took, alert
//! deliveries; it times its own HTTP requests by route; and at each scrape it reads the
//! instances per state and run type from the counts the database keeps. So any one API process
//! reports the whole cluster's work (do not sum them across API processes).

use std::sync::Arc;

use app::model::{InstanceFilter, InstanceState, RunType};
use axum::extract::{MatchedPath, Request, State};
use axum::http::{StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;
use tokio::sync::broadcast::error::RecvError;
use tokio_util::sync::CancellationToken;

use crate::auth::Identity;
use crate::engine::{Engine, EngineEvent};

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct InstanceLabels {
    state: &'static str,
    run_type: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct OutcomeLabels {
    outcome: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RouteLabels {
    route: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct DeliveryLabels {
    channel: String,
    outcome: String,
}

type Timings = Family<RouteLabels, Histogram, fn() -> Histogram>;

fn request_timing() -> Histogram {
    // 1 ms to about 16 s.
    Histogram::new(exponential_buckets(0.001, 2.0, 15))
}

/// The metrics of this process (cheap to clone).
#[derive(Clone)]
pub struct Metrics {
    inner: Arc<Inner>,
}

struct Inner {
    registry: Registry,
    engine: Engine,
    /// `--metrics-public`: no sign-in needed.
    public: bool,
    instances: Family<InstanceLabels, Gauge>,
    attempts: Family<OutcomeLabels, Counter>,
    dispatch_delay: Histogram,
    snapshot_duration: Histogram,
    requests: Timings,
    deliveries: Family<DeliveryLabels, Counter>,
}

impl Metrics {
    pub fn new(engine: Engine, public: bool) -> Metrics {
        let mut registry = Registry::default();
        let instances = Family::<InstanceLabels, Gauge>::default();
        registry.register(
            "nightshift_instances",
            "Instances by state and run type (all run dates)",
            instances.clone(),
        );
        let attempts = Family::<OutcomeLabels, Counter>::default();
        registry.register(
            "nightshift_attempts",
            "Attempts that ended: success, failed (also those retried), killed",
            attempts.clone(),
        );
        // 10 ms to about 11 hours.
        let dispatch_delay = Histogram::new(exponential_buckets(0.01, 2.0, 23));
        registry.register(
            "nightshift_dispatch_delay_seconds",
            "How long instances waited for a slot: from ready to started",
            dispatch_delay.clone(),
        );
        // 10 ms to about 160 s.
        let snapshot_duration = Histogram::new(exponential_buckets(0.01, 2.0, 15));
        registry.register(
            "nightshift_snapshot_duration_seconds",
            "How long making a day's instances took",
            snapshot_duration.clone(),
        );
        let requests = Timings::new_with_constructor(request_timing);
        registry.register(
            "nightshift_http_request_duration_seconds",
            "HTTP requests this process answered, by route",
            requests.clone(),
        );
        let deliveries = Family::<DeliveryLabels, Counter>::default();
        registry.register(
            "nightshift_alert_deliveries",
            "Tries to deliver an alert, by channel and outcome (delivered, retry, failed)",
            deliveries.clone(),
        );
        Metrics {
            inner: Arc::new(Inner {
                registry,
                engine,
                public,
                instances,
                attempts,
                dispatch_delay,
                snapshot_duration,
                requests,
                deliveries,
            }),
        }
    }

    /// Counts the engine's events until the server stops.
    pub async fn listen(self, cancel: CancellationToken) {
        let mut events = self.inner.engine.subscribe();
        loop {
            let event = tokio::select! {
                _ = cancel.cancelled() => return,
                event = events.recv() => event,
            };
            match event {
                Ok(event) => self.count(&event),
                Err(RecvError::Lagged(_)) => {}
                Err(RecvError::Closed) => return,
            }
        }
    }

    fn count(&self, event: &EngineEvent) {
        let inner = &self.inner;
        match event {
            EngineEvent::AttemptFinished { state, .. } => {
                let outcome = match state {
                    Some(InstanceState::Success) => "success",
                    Some(_) => "failed",
                    None => "killed",
                };
                inner.attempts.get_or_create(&OutcomeLabels { outcome }).inc();
            }
            EngineEvent::Started { waited_ms, .. } => {
                for ms in waited_ms {
                    inner.dispatch_delay.observe(*ms as f64 / 1000.0);
                }
            }
            EngineEvent::SnapshotMade { millis, .. } => {
                inner.snapshot_duration.observe(*millis as f64 / 1000.0);
            }
            EngineEvent::AlertDelivery { channel, outcome } => {
                let labels = DeliveryLabels { channel: channel.clone(), outcome: outcome.clone() };
                inner.deliveries.get_or_create(&labels).inc();
            }
            EngineEvent::Operated { .. } | EngineEvent::Ready => {}
        }
    }

    /// The text Prometheus reads, with the instance counts read now.
    async fn render(&self) -> Result<String, crate::store::StoreError> {
        let inner = &self.inner;
        for run_type in [RunType::Cycle, RunType::Test, RunType::Backfill] {
            let filter = InstanceFilter { run_type: Some(run_type), ..Default::default() };
            let counts = inner.engine.store().instance_stats(&filter).await?;
            for state in InstanceState::ALL {
                let labels = InstanceLabels { state: state.as_str(), run_type: run_type.as_str() };
                inner.instances.get_or_create(&labels).set(counts.get(state) as i64);
            }
        }
        let mut text = String::new();
        prometheus_client::encoding::text::encode(&mut text, &inner.registry)
            .expect("writing to a String does not fail");
        Ok(text)
    }
}

/// `GET /metrics`: for someone signed in (an API token), or anyone with `--metrics-public`.
pub async fn serve(
    State(metrics): State<Metrics>,
    identity: Option<axum::Extension<Identity>>,
) -> Response {
    let signed_in = identity.is_some_and(|i| i.0 != Identity::Anonymous);
    if !signed_in && !metrics.inner.public {
        let text = "sign in with an API token (Authorization: Bearer …), or serve the metrics \
                    publicly with --metrics-public\n";
        return (StatusCode::UNAUTHORIZED, text).into_response();
    }
    match metrics.render().await {
        Ok(text) => ([(header::CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")], text)
            .into_response(),
        Err(error) => {
            tracing::error!(%error, "could not read the metrics");
            (StatusCode::INTERNAL_SERVER_ERROR, "the database could not be read\n").into_response()
        }
    }
}

/// Times every request by its route (the route's pattern, so ids do not make new series).
pub async fn time_requests(
    State(metrics): State<Metrics>,
    request: Request,
    next: Next,
) -> Response {
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "other".to_string(), |p| p.as_str().to_string());
    let began = std::time::Instant::now();
    let response = next.run(request).await;
    metrics
        .inner
        .requests
        .get_or_create(&RouteLabels { route })
        .observe(began.elapsed().as_secs_f64());
    response
}
