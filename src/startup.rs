//! Settings → running servers: the admin app and the inbound endpoint, on one listener
//! or (with `CC_INBOUND_BIND`) on two.

use std::net::TcpListener;
use std::sync::Arc;

use actix_session::SessionMiddleware;
use actix_session::config::{BrowserSession, CookieContentSecurity};
use actix_session::storage::CookieSessionStore;
use actix_web::cookie::{Key, SameSite};
use actix_web::dev::Server;
use actix_web::middleware::from_fn;
use actix_web::{App, HttpResponse, HttpServer, route, web};

use crate::config::Settings;
use crate::db::PgPool;
use crate::inbound::key_cache::KeyCache;
use crate::inbound::rate_limit::RateLimiter;
use crate::inbound::store::LastUsedMarks;
use crate::inbound::writer::EventWriter;
use crate::usage::recorder::UsageRecorder;

pub const SESSION_COOKIE: &str = "cc_session";

/// What every handler can reach. Cheap to clone.
#[derive(Clone)]
pub struct AppState {
    /// The admin app's connections.
    pub pool: PgPool,
    /// The inbound endpoint's connections (a bulkhead: neither side can starve the other).
    pub inbound_pool: PgPool,
    pub rate_limiter: Arc<RateLimiter>,
    pub key_cache: Arc<KeyCache>,
    /// Group commit for single events.
    pub writer: EventWriter,
    /// Usage insight, written in the background.
    pub usage: UsageRecorder,
    pub settings: Arc<Settings>,
    pub last_used: Arc<LastUsedMarks>,
}

#[route("/healthz", method = "GET", method = "HEAD")]
async fn healthz() -> HttpResponse {
    HttpResponse::Ok().insert_header(("Cache-Control", "no-store")).json(serde_json::json!({"status": "ok"}))
}

#[route("/readyz", method = "GET", method = "HEAD")]
async fn readyz(state: web::Data<AppState>) -> HttpResponse {
    use diesel::RunQueryDsl;
    let ready = crate::db::run(&state.pool, |conn| {
        diesel::sql_query("SELECT 1").execute(conn).map_err(crate::db::DbError::from)
    })
    .await;
    match ready {
        Ok(_) => {
            HttpResponse::Ok().insert_header(("Cache-Control", "no-store")).json(serde_json::json!({"status": "ready"}))
        }
        Err(_) => HttpResponse::ServiceUnavailable()
            .insert_header(("Cache-Control", "no-store"))
            .insert_header(("Retry-After", "2"))
            .json(serde_json::json!({"status": "unavailable", "reason": "database unreachable"})),
    }
}

fn probes(cfg: &mut web::ServiceConfig) {
    cfg.service(healthz).service(readyz);
}

fn admin(cfg: &mut web::ServiceConfig) {
    use crate::{auth, keys};
    cfg.service(crate::web::app_css)
        .service(crate::web::app_js)
        .service(auth::routes::login_form)
        .service(auth::routes::login)
        .service(auth::routes::logout)
        .service(keys::routes::root)
        .service(keys::routes::configuration)
        .service(keys::routes::new_key)
        .service(keys::routes::key_detail)
        .service(keys::routes::tab)
        .service(keys::routes::create)
        .service(keys::routes::confirm)
        .service(keys::routes::act);
}

pub struct Application {
    pub state: AppState,
    /// The admin listener's port (also the inbound port unless a second listener is set).
    pub port: u16,
    pub inbound_port: Option<u16>,
    servers: Vec<Server>,
}

impl Application {
    /// Binds the listeners and builds the servers (not yet running).
    pub fn build(settings: Settings) -> anyhow::Result<Self> {
        let admin_listener =
            TcpListener::bind(&settings.bind).map_err(|e| anyhow::anyhow!("CC_BIND {}: {e}", settings.bind))?;
        let port = admin_listener.local_addr()?.port();
        let inbound_listener = match &settings.inbound_bind {
            Some(bind) => Some(TcpListener::bind(bind).map_err(|e| anyhow::anyhow!("CC_INBOUND_BIND {bind}: {e}"))?),
            None => None,
        };
        let inbound_port = inbound_listener.as_ref().map(|l| l.local_addr().map(|a| a.port())).transpose()?;
        let separate_inbound = inbound_listener.is_some();

        // One key for all workers: actix builds the app once per worker.
        let cookie_key = Key::from(&settings.secrets.cookie_key);
        let https = settings.https;
        let workers = settings.workers;
        let url = &settings.database_url;
        let inbound_pool = crate::db::build_pool(
            url,
            settings.db_pool_size,
            settings.db_checkout_timeout,
            crate::db::INBOUND_LOCK_TIMEOUT,
        );
        let state = AppState {
            pool: crate::db::build_pool(
                url,
                settings.admin_pool_size,
                settings.db_checkout_timeout,
                crate::db::ADMIN_LOCK_TIMEOUT,
            ),
            writer: EventWriter::start(inbound_pool.clone()),
            usage: UsageRecorder::start(inbound_pool.clone()),
            inbound_pool,
            key_cache: Arc::new(KeyCache::default()),
            rate_limiter: Arc::new(RateLimiter::new(settings.rate_limit)),
            last_used: Arc::new(LastUsedMarks::default()),
            settings: Arc::new(settings),
        };

        let admin_state = state.clone();
        let admin_server = HttpServer::new(move || {
            let session = SessionMiddleware::builder(CookieSessionStore::default(), cookie_key.clone())
                .cookie_name(SESSION_COOKIE.to_owned())
                .cookie_secure(https)
                .cookie_http_only(true)
                .cookie_same_site(SameSite::Lax)
                .cookie_content_security(CookieContentSecurity::Private)
                .session_lifecycle(BrowserSession::default())
                .build();
            let mut app = App::new()
                .app_data(web::Data::new(admin_state.clone()))
                .app_data(web::FormConfig::default().limit(16 * 1024))
                .wrap(crate::web::api_headers(https))
                .wrap(from_fn(crate::web::request_id_and_log))
                .configure(probes);
            if !separate_inbound {
                app = app.configure(crate::inbound::routes::configure);
            }
            app.service(
                web::scope("")
                    .wrap(session)
                    .wrap(crate::web::security_headers(https))
                    .configure(admin)
                    .default_service(web::to(crate::web::not_found)),
            )
        })
        .workers(workers)
        .listen(admin_listener)?
        .run();

        let mut servers = vec![admin_server];
        if let Some(listener) = inbound_listener {
            let inbound_state = state.clone();
            let server = HttpServer::new(move || {
                App::new()
                    .app_data(web::Data::new(inbound_state.clone()))
                    .wrap(crate::web::api_headers(https))
                    .wrap(from_fn(crate::web::request_id_and_log))
                    .configure(probes)
                    .configure(crate::inbound::routes::configure)
            })
            .workers(workers)
            .listen(listener)?
            .run();
            servers.push(server);
        }
        Ok(Self { state, port, inbound_port, servers })
    }

    /// Runs until shutdown (SIGINT/SIGTERM finish in-flight requests first).
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        let results = futures_util::future::join_all(self.servers).await;
        results.into_iter().collect()
    }
}
