//! The web UI: Leptos server-side rendering, the hydration bundle and CSS from the site
//! directory, and the [`Backend`] the UI's server functions call.

use std::sync::Arc;

use app::audit::{AuditDetail, AuditPage, AuditQuery};
use app::backend::{Backend, SharedBackend};
use app::definition::{Node, NodePage, NodeQuery, NodeSpec, NodeView, ResourceGroup};
use app::error::AppError;
use app::flow::{DefinitionGraph, FlowGraph, layout, layout_definitions};
use app::jobs::{BackfillRequest, JobCreated, JobPage, TestRequest};
use app::model::{
    Instance, InstanceDetail, InstanceFilter, InstanceId, InstancePage, LogChunk, PageRequest,
    RunType, StateCounts,
};
use app::people::{
    Actor, ApiToken, CreatedToken, CsrfToken, LoginHints, NewToken, NewUser, User, UserChange,
    UserPage,
};
use app::report::{BatchKind, BatchRequest, Report};
use app::rules::Operation;
use app::{App, shell};
use axum::Router;
use axum::http::request::Parts;
use axum::routing::post;
use leptos::config::LeptosOptions;
use leptos::prelude::{provide_context, use_context};
use leptos_axum::{LeptosRoutes, generate_route_list};

use crate::auth::{Auth, Identity};
use crate::engine::Engine;
use crate::store::{ApplyMode, NodeListFilter};

/// The most ancestors, and the most descendants, the flow view shows.
const FLOW_LIMIT: u32 = 2_000;
/// How many past runs the duration chart shows.
const HISTORY: u32 = 30;

/// What the UI's server functions reach, for one request: the engine, the people service, and
/// who is asking.
struct EngineBackend {
    engine: Engine,
    auth: Auth,
    identity: Identity,
    demo: bool,
}

impl EngineBackend {
    /// The person asking; every server function but the login page's needs one.
    fn actor(&self) -> Result<&Actor, AppError> {
        self.identity.require()
    }

    async fn instance(&self, id: InstanceId) -> Result<Instance, AppError> {
        self.engine
            .store()
            .get_instance(id)
            .await?
            .ok_or_else(|| AppError::not_found(format!("no instance {id}")))
    }
}

#[async_trait::async_trait]
impl Backend for EngineBackend {
    async fn whoami(&self) -> Result<Actor, AppError> {
        Ok(self.actor()?.clone())
    }

    async fn list_instances(
        &self,
        filter: InstanceFilter,
        page: PageRequest,
    ) -> Result<InstancePage, AppError> {
        self.actor()?;
        Ok(self.engine.store().list_instances(&filter, &page).await?)
    }

    async fn instance_stats(&self, filter: InstanceFilter) -> Result<StateCounts, AppError> {
        self.actor()?;
        Ok(self.engine.store().instance_stats(&filter).await?)
    }

    async fn instances_by_ids(&self, ids: Vec<InstanceId>) -> Result<Vec<Instance>, AppError> {
        self.actor()?;
        if ids.len() > app::model::MAX_PAGE_SIZE as usize * 20 {
            return Err(AppError::bad_request("too many instances in one request"));
        }
        Ok(self.engine.store().instances_by_ids(&ids).await?)
    }

    async fn instance_detail(&self, id: InstanceId) -> Result<InstanceDetail, AppError> {
        self.actor()?;
        let store = self.engine.store();
        let instance = self.instance(id).await?;
        let waiting_for = match store.wait_facts(id).await? {
            Some(facts) => {
                crate::explain::waiting_for(&instance, &facts, self.engine.clock().now())
            }
            None => Vec::new(),
        };
        let (upstream, downstream) = store.neighbors(id).await?;
        Ok(InstanceDetail {
            attempts: store.attempts(id).await?,
            history: store.history(id, HISTORY).await?,
            instance,
            waiting_for,
            upstream,
            downstream,
        })
    }

    async fn flow(&self, id: InstanceId) -> Result<FlowGraph, AppError> {
        self.actor()?;
        self.instance(id).await?;
        let (instances, edges, truncated) = self.engine.store().flow_around(id, FLOW_LIMIT).await?;
        Ok(layout(id, instances, &edges, truncated))
    }

    async fn descendants(&self, id: InstanceId) -> Result<Vec<Instance>, AppError> {
        self.actor()?;
        self.instance(id).await?;
        Ok(self.engine.store().descendants(id, 5_000).await?)
    }

    async fn log_chunk(
        &self,
        id: InstanceId,
        attempt: Option<i32>,
        offset: u64,
    ) -> Result<LogChunk, AppError> {
        self.actor()?;
        crate::logs::read_chunk(&self.engine, id, attempt, offset).await
    }

    async fn operate(
        &self,
        id: InstanceId,
        op: Operation,
        dry_run: bool,
    ) -> Result<Report, AppError> {
        self.engine.operate(self.actor()?, id, op, dry_run).await
    }

    async fn rerun_downstream(
        &self,
        root: InstanceId,
        checked: Vec<InstanceId>,
        dry_run: bool,
    ) -> Result<Report, AppError> {
        self.engine.rerun_downstream(self.actor()?, root, &checked, dry_run).await
    }

    async fn batch(&self, kind: BatchKind, request: BatchRequest) -> Result<Report, AppError> {
        self.engine.batch(self.actor()?, kind, &request).await
    }

    async fn list_nodes(&self, query: NodeQuery) -> Result<NodePage, AppError> {
        self.actor()?;
        let filter = NodeListFilter {
            name: query.name,
            owner: query.owner,
            workflow: query.workflow,
            limit: app::model::DEFAULT_PAGE_SIZE,
            after: query.after,
        };
        Ok(self.engine.store().list_nodes(&filter).await?)
    }

    async fn node_view(&self, name: String) -> Result<NodeView, AppError> {
        self.actor()?;
        let store = self.engine.store();
        let node = store
            .get_node(&name)
            .await?
            .ok_or_else(|| AppError::not_found(format!("no node named '{name}'")))?;
        let downstream = store.node_downstream(&name).await?;
        let descendants = store.node_descendants(&name).await?;
        let schedule_words = app::schedule_words::describe(&node.spec.schedule);
        Ok(NodeView { node, downstream, descendants, schedule_words })
    }

    async fn definition_graph(&self, workflow: String) -> Result<DefinitionGraph, AppError> {
        self.actor()?;
        let (nodes, edges, truncated) =
            self.engine.store().workflow_graph(&workflow, FLOW_LIMIT).await?;
        if nodes.is_empty() {
            return Err(AppError::not_found(format!("no workflow named '{workflow}'")));
        }
        Ok(layout_definitions(nodes, &edges, truncated))
    }

    async fn workflows(&self) -> Result<Vec<(String, i64)>, AppError> {
        self.actor()?;
        Ok(self.engine.store().workflows().await?)
    }

    async fn resource_groups(&self) -> Result<Vec<ResourceGroup>, AppError> {
        self.actor()?;
        Ok(self.engine.store().resource_groups().await?)
    }

    async fn save_node(&self, spec: NodeSpec, create: bool) -> Result<Node, AppError> {
        let mode = if create { ApplyMode::CreateOnly } else { ApplyMode::Upsert };
        Ok(self.engine.save_node(self.actor()?, spec, mode).await?.0)
    }

    async fn set_node_paused(&self, name: String, paused: bool) -> Result<Node, AppError> {
        self.engine.set_node_paused(self.actor()?, &name, paused).await
    }

    async fn start_test(&self, request: TestRequest) -> Result<JobCreated, AppError> {
        self.engine.start_test(self.actor()?, &request).await
    }

    async fn backfill(&self, request: BackfillRequest) -> Result<JobCreated, AppError> {
        self.engine.backfill(self.actor()?, &request).await
    }

    async fn list_jobs(&self, kind: RunType, before: Option<i64>) -> Result<JobPage, AppError> {
        self.actor()?;
        Ok(self.engine.store().list_jobs(kind, 20, before).await?)
    }

    async fn login_hints(&self) -> Result<LoginHints, AppError> {
        Ok(LoginHints { demo: self.demo, no_accounts: !self.auth.has_users().await? })
    }

    async fn audit(&self, query: AuditQuery) -> Result<AuditPage, AppError> {
        self.actor()?;
        Ok(self.engine.store().list_audit(&query).await?)
    }

    async fn audit_entry(&self, id: i64) -> Result<AuditDetail, AppError> {
        self.actor()?;
        let (entry, instances) = self
            .engine
            .store()
            .audit_entry(id, 1_000)
            .await?
            .ok_or_else(|| AppError::not_found(format!("no audit entry {id}")))?;
        Ok(AuditDetail { entry, instances })
    }

    async fn users(&self, after: Option<String>) -> Result<UserPage, AppError> {
        self.auth.users(self.actor()?, after.as_deref(), app::model::DEFAULT_PAGE_SIZE).await
    }

    async fn add_user(&self, user: NewUser) -> Result<User, AppError> {
        self.auth.add_user(self.actor()?, &user).await
    }

    async fn change_user(&self, name: String, change: UserChange) -> Result<User, AppError> {
        self.auth.change_user(self.actor()?, &name, &change).await
    }

    async fn tokens(&self) -> Result<Vec<ApiToken>, AppError> {
        self.auth.tokens(&self.identity).await
    }

    async fn create_token(&self, token: NewToken) -> Result<CreatedToken, AppError> {
        self.auth.create_token(&self.identity, &token).await
    }

    async fn revoke_token(&self, id: i64) -> Result<(), AppError> {
        self.auth.revoke_token(&self.identity, id).await
    }
}

/// Where the compiled site (pkg/nightshift.js, pkg/nightshift_bg.wasm, pkg/nightshift.css) is.
pub fn leptos_options(site_root: &str, addr: std::net::SocketAddr) -> LeptosOptions {
    LeptosOptions::builder()
        .output_name("nightshift")
        .site_root(site_root)
        .site_pkg_dir("pkg")
        .site_addr(addr)
        .build()
}

/// The pages, the server functions and the login and logout forms. Each request gets a backend
/// that knows who is asking (the [`Identity`] the authentication layer found), and each page the
/// session's CSRF token to hand back.
pub fn router(engine: Engine, auth: Auth, demo: bool, options: LeptosOptions) -> Router {
    let routes = generate_route_list(App);
    let auth_for_forms = auth.clone();
    let context = move || {
        let identity = use_context::<Parts>()
            .and_then(|parts| parts.extensions.get::<Identity>().cloned())
            .unwrap_or(Identity::Anonymous);
        if let Identity::Session { csrf_token, .. } = &identity {
            provide_context(CsrfToken(csrf_token.clone()));
        }
        let backend: SharedBackend =
            Arc::new(EngineBackend { engine: engine.clone(), auth: auth.clone(), identity, demo });
        provide_context(backend);
    };
    let forms: Router = Router::new()
        .route("/login", post(crate::http::people::login_form))
        .route("/logout", post(crate::http::people::logout_form))
        .with_state(auth_for_forms);
    Router::new()
        .leptos_routes_with_context(&options, routes, context.clone(), {
            let options = options.clone();
            move || shell(options.clone())
        })
        .fallback(leptos_axum::file_and_error_handler_with_context(context, shell))
        .with_state(options)
        .merge(forms)
}
