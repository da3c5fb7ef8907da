//! Leadwatch's HTTP API: every route of every function, as axum route sets over plain
//! async handlers.
//!
//! * [`ingest`], [`disposition`], [`report`]: one route set per Lambda function, each a
//!   `Router` built from the function's app state.
//! * [`request`]: what handlers take from a request (its receive time, a size-limited
//!   body, the lead id, the query), extracted in one place.
//! * [`error`]: one mapping from errors to statuses and JSON bodies.
//! * [`idempotency`] and [`signature`]: retried requests and signed sources' requests.
//! * [`web`]: the server-rendered web app (queue, lead page, dashboard, contract), on
//!   the same store, commands and caller identity.
//! * [`entry`]: how a router is served, by a Lambda (`run_lambda`), by `leadwatch serve`
//!   (`serve`) and by tests (`call`), all through the same preparation step.
//!
//! A function's `main` serves [`function_router`] of its route set; `leadwatch serve`
//! serves [`Api::router`], the merge of all three. There is no translation layer: the
//! same router answers a request whichever way it arrives.

pub mod caller;
pub mod disposition;
pub mod entry;
pub mod error;
pub mod export;
pub mod idempotency;
pub mod ingest;
pub mod report;
pub mod request;
pub mod signature;
pub mod web;

use std::sync::Arc;

use axum::extract::Request;
use axum::response::{IntoResponse, Response};
use axum::Router;

use leadwatch_adapters::store::Store;
use leadwatch_core::Contract;

pub use error::ApiError;

/// Every route of the HTTP API, the function that serves it, as `infra/template.yaml`
/// declares them (a test holds the two together).
pub const ROUTES: &[(&str, &str, Function)] = &[
    ("POST", "/leads", Function::Ingest),
    ("OPTIONS", "/leads", Function::Ingest),
    ("POST", "/leads/{id}/signals", Function::Ingest),
    ("GET", "/leads/{id}", Function::Ingest),
    ("POST", "/leads/{id}/accept", Function::Disposition),
    ("POST", "/leads/{id}/reject", Function::Disposition),
    ("POST", "/leads/{id}/qualify", Function::Disposition),
    ("POST", "/leads/{id}/touch", Function::Disposition),
    ("GET", "/queue", Function::Disposition),
    ("GET", "/reports/sla", Function::Report),
    ("GET", "/export", Function::Report),
    ("POST", "/exports", Function::Report),
    ("GET", "/exports/{id}", Function::Report),
];

/// The Lambda function that serves a route.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Function {
    Ingest,
    Disposition,
    Report,
}

/// A route set as one function serves it: any other path is a JSON 404.
pub fn function_router(routes: Router) -> Router {
    routes.fallback(no_route)
}

/// Any path that no route serves: the same JSON 404 from every function.
async fn no_route(req: Request) -> Response {
    ApiError::no_route(req.method().as_str(), req.uri().path()).into_response()
}

/// The three HTTP route sets' state, built once, as each Lambda builds its own at
/// cold start.
#[derive(Clone)]
pub struct Api {
    pub ingest: ingest::IngestApp,
    pub disposition: disposition::DispositionApp,
    pub report: report::ReportApp,
    /// The web app's pages, when the entry point set them up (see [`Api::with_web`]).
    pub web: Option<web::WebApp>,
}

impl Api {
    /// Every route set on `store` and `contract`; the ingest routes with no source
    /// secrets and the development lead id key (see [`Api::with_ingest`]).
    pub fn new(store: Store, contract: Arc<Contract>) -> Api {
        Api {
            ingest: ingest::IngestApp::new(store.clone(), Arc::clone(&contract)),
            disposition: disposition::DispositionApp {
                store: store.clone(),
                contract: Arc::clone(&contract),
            },
            report: report::ReportApp {
                store,
                contract,
                exports: None,
            },
            web: None,
        }
    }

    /// Exports into `exports`' bucket, run where `exports` says.
    pub fn with_exports(mut self, exports: export::Exports) -> Api {
        self.report.exports = Some(exports);
        self
    }

    /// Serve the web app's pages as well.
    pub fn with_web(mut self, web: web::WebApp) -> Api {
        self.web = Some(web);
        self
    }

    /// These route sets with the ingest routes' source secrets and lead id key.
    pub fn with_ingest(
        mut self,
        sources: leadwatch_adapters::secrets::SourceSecrets,
        lead_ids: leadwatch_core::LeadIds,
    ) -> Api {
        self.ingest.sources = sources;
        self.ingest.lead_ids = lead_ids;
        self
    }

    /// Every route set merged, as `leadwatch serve` serves them on one base URL.
    pub fn router(self) -> Router {
        function_router(
            Router::new()
                .merge(ingest::routes(self.ingest))
                .merge(disposition::routes(self.disposition))
                .merge(report::routes(self.report))
                .merge(self.web.map(web::routes).unwrap_or_default()),
        )
    }
}
