//! Lambda entry point of the web function: the web app's pages.
//!
//! A function of its own rather than a route set of the disposition or report
//! function: its routes are the only ones deployed without API Gateway's JWT
//! authorizer (a browser cannot attach a bearer token to a page navigation), so the
//! code that trusts a session cookie instead runs only here, under its own role (the
//! table, and the web secret's SSM parameter), and no JSON route ever sees a request
//! that skipped the authorizer.

use std::sync::Arc;

use leadwatch_adapters::aws::{function_config, TimeBudget};
use leadwatch_adapters::{config, secrets, store::Store, warm};
use leadwatch_api::entry::run_lambda;
use leadwatch_api::function_router;
use leadwatch_api::web::{routes, Oidc, OidcSettings, SignIn, WebApp};

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    lambda_http::tracing::init_default_subscriber();
    let config = function_config("web", TimeBudget::HTTP_API).await;
    let signer = secrets::web_secret_from(&config).await?.ok_or(
        "the web app needs its secret: set LEADWATCH_WEB_SECRET_PARAMETER (an SSM SecureString)",
    )?;
    let app = WebApp {
        store: Store::from_config(&config),
        contract: config::contract_from_env()?,
        signer,
        sign_in: match OidcSettings::from_env() {
            Some(settings) => SignIn::Oidc(Arc::new(Oidc::new(settings)?)),
            None => SignIn::NotConfigured,
        },
        secure_cookies: true,
    };
    // The first request's connection, opened now rather than in the first invocation.
    warm::dynamodb(&app.store, warm::PARTITION_KEY).await;
    // The entry point owns the clock: it stamps a request only when API Gateway did not.
    run_lambda(function_router(routes(app)), chrono::Utc::now).await
}
