//! Test harness: every test gets its own PostgreSQL database, cloned from a template
//! that was migrated once (named after a hash of `migrations/`, so it never goes
//! stale), and a real server on a random port.

use std::sync::LazyLock;

use cleanclicks::accounts::{Hostname, Plan, Role, store};
use cleanclicks::auth::password::{self, NewPassword};
use cleanclicks::config::{Environment, Secrets, Settings};
use cleanclicks::email::Email;
use cleanclicks::startup::Application;
use diesel::prelude::*;
use diesel::{Connection, PgConnection};
use sha2::{Digest, Sha256};

pub const PASSWORD: &str = "correct horse battery staple 9";

/// The server tests run against; override with CC_TEST_DATABASE_URL (any database on it).
pub fn admin_url() -> String {
    std::env::var("CC_TEST_DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable".to_owned())
}

fn url_for(db: &str) -> String {
    let admin = admin_url();
    let (base, query) = match admin.find('?') {
        Some(i) => (&admin[..i], &admin[i..]),
        None => (admin.as_str(), ""),
    };
    let slash = base.rfind('/').expect("database URL has a path");
    format!("{}/{db}{query}", &base[..slash])
}

fn connect_admin() -> PgConnection {
    PgConnection::establish(&admin_url()).unwrap_or_else(|e| {
        panic!(
            "\n\nPostgreSQL is not reachable at {} ({e}).\nStart it with:\n  pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start\nor point CC_TEST_DATABASE_URL at a server where user may CREATE DATABASE.\n",
            admin_url()
        )
    })
}

fn migrations_hash() -> String {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("migrations");
    let mut files: Vec<_> = walk(&dir);
    files.sort();
    let mut hasher = Sha256::new();
    for file in files {
        hasher.update(file.strip_prefix(&dir).unwrap().to_string_lossy().as_bytes());
        hasher.update(std::fs::read(&file).unwrap());
    }
    hex::encode(&hasher.finalize()[..6])
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() { out.extend(walk(&path)) } else { out.push(path) }
    }
    out
}

/// The migrated template, built once per migrations hash by whichever test gets
/// the advisory lock first (nextest runs each test in its own process).
static TEMPLATE: LazyLock<String> = LazyLock::new(|| {
    let name = format!("cc_test_tmpl_{}", migrations_hash());
    let mut admin = connect_admin();
    diesel::sql_query("SELECT pg_advisory_lock(4242001)").execute(&mut admin).unwrap();
    let exists: bool = diesel::select(diesel::dsl::sql::<diesel::sql_types::Bool>(&format!(
        "EXISTS (SELECT 1 FROM pg_database WHERE datname = '{name}')"
    )))
    .get_result(&mut admin)
    .unwrap();
    if !exists {
        let building = format!("{name}_building");
        diesel::sql_query(format!("DROP DATABASE IF EXISTS {building} WITH (FORCE)")).execute(&mut admin).unwrap();
        diesel::sql_query(format!("CREATE DATABASE {building}")).execute(&mut admin).unwrap();
        {
            let mut conn = PgConnection::establish(&url_for(&building)).unwrap();
            cleanclicks::db::run_migrations(&mut conn).unwrap();
        }
        // Renamed only once complete, so a crash never leaves a half-built template.
        diesel::sql_query(format!("ALTER DATABASE {building} RENAME TO {name}")).execute(&mut admin).unwrap();
    }
    diesel::sql_query("SELECT pg_advisory_unlock(4242001)").execute(&mut admin).unwrap();
    name
});

/// A fresh database of its own, dropped when the guard goes.
pub struct TestDb {
    pub name: String,
    pub url: String,
}

impl TestDb {
    pub fn new() -> Self {
        let template = TEMPLATE.clone();
        let name = format!("cc_test_{}", uuid::Uuid::new_v4().simple());
        let mut admin = connect_admin();
        diesel::sql_query(format!("CREATE DATABASE {name} TEMPLATE {template}")).execute(&mut admin).unwrap();
        let url = url_for(&name);
        Self { name, url }
    }

    pub fn conn(&self) -> PgConnection {
        PgConnection::establish(&self.url).unwrap()
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        if let Ok(mut admin) = PgConnection::establish(&admin_url()) {
            let _ =
                diesel::sql_query(format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name)).execute(&mut admin);
        }
    }
}

pub fn test_settings(db_url: &str) -> Settings {
    let mut secret = [0u8; 64];
    rand::fill(&mut secret);
    Settings {
        database_url: db_url.to_owned(),
        environment: Environment::Development,
        bind: "127.0.0.1:0".to_owned(),
        inbound_bind: None,
        public_inbound_url: cleanclicks::config::DEFAULT_INBOUND_URL_TEMPLATE.to_owned(),
        https: false,
        db_pool_size: 8,
        admin_pool_size: 4,
        db_checkout_timeout: std::time::Duration::from_secs(2),
        workers: 2,
        session_idle: chrono::Duration::minutes(30),
        session_max: chrono::Duration::hours(12),
        secrets: Secrets::derive(&secret),
        rate_limit: Default::default(),
        trusted_proxies: Vec::new(),
    }
}

pub struct TestApp {
    pub address: String,
    pub client: reqwest::Client,
    pub db: std::sync::Arc<TestDb>,
    /// The running server's pools and settings, for tests that hold connections.
    pub state: cleanclicks::startup::AppState,
    server: tokio::task::JoinHandle<std::io::Result<()>>,
}

impl Drop for TestApp {
    fn drop(&mut self) {
        self.server.abort();
    }
}

pub fn client() -> reqwest::Client {
    reqwest::Client::builder().cookie_store(true).redirect(reqwest::redirect::Policy::none()).build().unwrap()
}

pub async fn spawn_app() -> TestApp {
    let db = std::sync::Arc::new(tokio::task::spawn_blocking(TestDb::new).await.unwrap());
    spawn_app_on(db, |_| {}).await
}

/// Another server on the same database (e.g. a restart, or a second instance).
pub async fn spawn_app_on(db: std::sync::Arc<TestDb>, customise: impl FnOnce(&mut Settings)) -> TestApp {
    let mut settings = test_settings(&db.url);
    customise(&mut settings);
    let app = Application::build(settings).expect("server builds");
    let state = app.state.clone();
    let address = format!("http://127.0.0.1:{}", app.port);
    let server = tokio::spawn(app.run_until_stopped());
    TestApp { address, client: client(), db, state, server }
}

impl TestApp {
    pub fn conn(&self) -> PgConnection {
        self.db.conn()
    }

    /// An account on `plan` with one user of `role` and one domain.
    pub fn seed(&self, account: &str, plan: Plan, email: &str, role: Role, domain: &str) {
        let mut conn = self.conn();
        let acc = match store::find_account(&mut conn, account).unwrap() {
            Some(a) => a,
            None => store::create_account(&mut conn, account, plan).unwrap(),
        };
        let email = Email::parse(email).unwrap();
        let hash = password::hash(&NewPassword::parse(PASSWORD).unwrap()).unwrap();
        store::create_user(&mut conn, acc.id, &email, &hash, role).unwrap();
        if store::find_domain(&mut conn, domain).unwrap().is_none() {
            store::create_domain(&mut conn, acc.id, &Hostname::parse(domain).unwrap()).unwrap();
        }
    }

    /// The usual fixture: account "acme" with an owner and shop.example.
    pub fn seed_owner(&self, plan: Plan) {
        self.seed("acme", plan, "owner@acme.test", Role::Owner, "shop.example")
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.address, path)
    }

    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.client.get(self.url(path)).send().await.unwrap()
    }

    pub async fn get_html(&self, path: &str) -> String {
        let response = self.get(path).await;
        assert_eq!(response.status(), 200, "GET {path}");
        response.text().await.unwrap()
    }

    pub async fn post_form(&self, path: &str, fields: &[(&str, &str)]) -> reqwest::Response {
        self.client.post(self.url(path)).form(fields).send().await.unwrap()
    }

    pub async fn login(&self, email: &str, password: &str) -> reqwest::Response {
        let page = self.get_html("/login").await;
        let csrf = field_value(&page, "csrf_token").expect("login form has a csrf token");
        self.post_form("/login", &[("email", email), ("password", password), ("csrf_token", &csrf)]).await
    }

    pub async fn login_owner(&self) {
        let response = self.login("owner@acme.test", PASSWORD).await;
        assert_is_redirect_to(&response, "/configuration");
    }

    pub fn tab(&self, domain: &str) -> String {
        format!("/configuration/{domain}/inbound-keys")
    }

    /// Submits the tab's own create form with `name`; returns status and body.
    pub async fn create_key_on(&self, domain: &str, name: &str) -> (u16, String) {
        let tab = self.tab(domain);
        let page = self.get_html(&tab).await;
        let (csrf, token) = create_form_tokens(&page).expect("the tab has a create form");
        let response = self.post_form(&tab, &[("name", name), ("csrf_token", &csrf), ("form_token", &token)]).await;
        let status = response.status().as_u16();
        (status, response.text().await.unwrap())
    }

    /// Creates a key on shop.example and returns the revealed value.
    pub async fn create_key(&self, name: &str) -> String {
        let (status, body) = self.create_key_on("shop.example", name).await;
        assert_eq!(status, 200, "create {name}: {body}");
        revealed_key(&body).expect("the reveal shows the key")
    }

    /// Revoke / restore / delete through the confirmation page's form.
    pub async fn act(&self, domain: &str, key_id: &str, action: &str, typed_name: &str) -> reqwest::Response {
        let path = format!("{}/{key_id}/{action}", self.tab(domain));
        let page = self.get_html(&path).await;
        let csrf = field_value(&page, "csrf_token").unwrap();
        self.post_form(&path, &[("csrf_token", &csrf), ("confirm_name", typed_name)]).await
    }

    pub async fn inbound(&self, key: Option<&str>, body: &str) -> reqwest::Response {
        let mut request = self
            .client
            .post(self.url("/__cc/inbound"))
            .header("Content-Type", "application/json")
            .body(body.to_owned());
        if let Some(key) = key {
            request = request.header("X-CC-Api-Key", key);
        }
        request.send().await.unwrap()
    }

    /// POST to an inbound path with JSON content type, the key (if any) and extra headers.
    pub async fn inbound_with(&self, path: &str, key: &str, headers: &[(&str, &str)], body: &str) -> reqwest::Response {
        let mut request = self
            .client
            .post(self.url(path))
            .header("Content-Type", "application/json")
            .header("X-CC-Api-Key", key)
            .body(body.to_owned());
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        request.send().await.unwrap()
    }

    pub fn count(&self, sql: &str) -> i64 {
        #[derive(QueryableByName)]
        struct N {
            #[diesel(sql_type = diesel::sql_types::BigInt)]
            n: i64,
        }
        diesel::sql_query(sql).get_result::<N>(&mut self.conn()).unwrap().n
    }

    /// Every row of every table as text: what a database dump would hold.
    pub fn dump(&self) -> String {
        #[derive(QueryableByName)]
        struct Row {
            #[diesel(sql_type = diesel::sql_types::Text)]
            row: String,
        }
        let mut conn = self.conn();
        #[derive(QueryableByName)]
        struct Table {
            #[diesel(sql_type = diesel::sql_types::Text)]
            tablename: String,
        }
        let tables: Vec<Table> = diesel::sql_query("SELECT tablename::text FROM pg_tables WHERE schemaname = 'public'")
            .load(&mut conn)
            .unwrap();
        let mut out = String::new();
        for table in tables {
            let rows: Vec<Row> = diesel::sql_query(format!("SELECT t::text AS row FROM \"{}\" t", table.tablename))
                .load(&mut conn)
                .unwrap();
            for row in rows {
                out.push_str(&row.row);
                out.push('\n');
            }
        }
        out
    }

    /// The key ids the tab's rows link to, in page order.
    pub async fn key_ids(&self, domain: &str) -> Vec<String> {
        key_ids_in(&self.get_html(&self.tab(domain)).await)
    }
}

pub fn assert_is_redirect_to(response: &reqwest::Response, location: &str) {
    assert_eq!(response.status().as_u16(), 303, "expected a 303 to {location}");
    assert_eq!(response.headers().get("location").unwrap().to_str().unwrap(), location);
}

/// The value of the first input named `name` in the page.
pub fn field_value(html: &str, name: &str) -> Option<String> {
    let doc = scraper::Html::parse_document(html);
    let selector = scraper::Selector::parse(&format!("input[name=\"{name}\"]")).unwrap();
    doc.select(&selector).next().and_then(|e| e.value().attr("value")).map(str::to_owned)
}

/// csrf_token and form_token of the create form (the form posting to the tab itself).
pub fn create_form_tokens(html: &str) -> Option<(String, String)> {
    let doc = scraper::Html::parse_document(html);
    let forms = scraper::Selector::parse("form[method=post]").unwrap();
    let input = |form: scraper::ElementRef, name: &str| {
        form.select(&scraper::Selector::parse(&format!("input[name=\"{name}\"]")).unwrap())
            .next()
            .and_then(|e| e.value().attr("value"))
            .map(str::to_owned)
    };
    doc.select(&forms)
        .find(|f| f.value().attr("action").is_some_and(|a| a.ends_with("/inbound-keys")))
        .and_then(|form| Some((input(form, "csrf_token")?, input(form, "form_token")?)))
}

/// A full key shown in a page, if any.
pub fn revealed_key(html: &str) -> Option<String> {
    let bytes = html.as_bytes();
    let mut i = 0;
    while let Some(pos) = html[i..].find("cc_") {
        let start = i + pos;
        let end = start + 3 + bytes[start + 3..].iter().take_while(|b| b.is_ascii_alphanumeric()).count();
        if end - start >= 41 {
            return Some(html[start..start + 41].to_owned());
        }
        i = start + 3;
    }
    None
}

/// A fresh app with the usual owner on Signal, signed in, and one key named "Zapier".
/// A fresh app with the usual owner (Signal plan) signed in.
pub async fn signed_in_owner() -> TestApp {
    let app = spawn_app().await;
    app.seed_owner(Plan::Signal);
    app.login_owner().await;
    app
}

pub async fn app_with_key() -> (TestApp, String) {
    let app = spawn_app().await;
    app.seed_owner(Plan::Signal);
    app.login_owner().await;
    let key = app.create_key("Zapier").await;
    (app, key)
}

/// An app whose database connections all go through a `TcpProxy` the test controls,
/// with the usual owner signed in and one key, already used once (so it is cached).
pub async fn app_with_key_through_proxy() -> (TestApp, TcpProxy, String) {
    let app = spawn_app().await;
    app.seed_owner(Plan::Signal);
    let proxy = TcpProxy::start("127.0.0.1:5432").await;
    let url = app.db.url.replace("127.0.0.1:5432", &proxy.address);
    let app = spawn_app_on(app.db.clone(), move |s| s.database_url = url).await;
    app.login_owner().await;
    let key = app.create_key("Through a proxy").await;
    assert_eq!(app.inbound(Some(&key), r#"{"email":"first@b.co","event":"purchase"}"#).await.status(), 202);
    (app, proxy, key)
}

/// A fresh app with the usual owner on `plan`, trusting the loopback proxy, so a test
/// can act from other client addresses with `X-Forwarded-For`.
pub async fn spawn_app_behind_proxy(plan: Plan) -> TestApp {
    let app = spawn_app().await;
    app.seed_owner(plan);
    spawn_app_on(app.db.clone(), |s| s.trusted_proxies = cleanclicks::net::parse_list("127.0.0.1/32").unwrap()).await
}

pub fn key_ids_in(html: &str) -> Vec<String> {
    let mut ids = Vec::new();
    for part in html.split("inbound-keys/").skip(1) {
        if let Some((id, rest)) = part.split_once('/')
            && ["revoke", "restore", "delete"].iter().any(|a| rest.starts_with(a))
            && !ids.iter().any(|i| i == id)
        {
            ids.push(id.to_owned());
        }
    }
    ids
}

pub const EVENT: &str = r#"{"email":"buyer@example.com","event":"purchase","value":99.99,"currency":"USD"}"#;

pub async fn error_code(response: reqwest::Response) -> String {
    let body: serde_json::Value = response.json().await.unwrap();
    body["error"]["code"].as_str().unwrap_or_default().to_owned()
}

/// A TCP proxy in front of PostgreSQL that a test can cut (dropping every connection
/// and refusing new ones, as an outage would) and restore, or freeze (connections stay
/// open but nothing gets through, as with a stalled server) and thaw.
pub struct TcpProxy {
    pub address: String,
    up: std::sync::Arc<std::sync::atomic::AtomicBool>,
    frozen: std::sync::Arc<std::sync::atomic::AtomicBool>,
    links: std::sync::Arc<std::sync::Mutex<Vec<tokio::task::AbortHandle>>>,
}

impl TcpProxy {
    pub async fn start(target: &'static str) -> Self {
        use std::sync::atomic::Ordering;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap().to_string();
        let up = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(true));
        let links = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let frozen = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let (up2, links2, frozen2) = (up.clone(), links.clone(), frozen.clone());
        tokio::spawn(async move {
            while let Ok((inbound, _)) = listener.accept().await {
                if !up2.load(Ordering::SeqCst) {
                    continue; // dropped: connection refused/reset
                }
                let frozen = frozen2.clone();
                let link = tokio::spawn(async move {
                    if let Ok(outbound) = tokio::net::TcpStream::connect(target).await {
                        let (client_read, client_write) = inbound.into_split();
                        let (server_read, server_write) = outbound.into_split();
                        tokio::join!(
                            pump(client_read, server_write, frozen.clone()),
                            pump(server_read, client_write, frozen)
                        );
                    }
                });
                links2.lock().unwrap().push(link.abort_handle());
            }
        });
        Self { address, up, frozen, links }
    }

    pub fn freeze(&self) {
        self.frozen.store(true, std::sync::atomic::Ordering::SeqCst);
    }

    pub fn thaw(&self) {
        self.frozen.store(false, std::sync::atomic::Ordering::SeqCst);
    }

    pub fn cut(&self) {
        self.up.store(false, std::sync::atomic::Ordering::SeqCst);
        for link in self.links.lock().unwrap().drain(..) {
            link.abort();
        }
    }

    pub fn restore(&self) {
        self.up.store(true, std::sync::atomic::Ordering::SeqCst);
    }
}

/// Copies one direction of a proxied connection, holding bytes back while frozen.
async fn pump(
    mut from: tokio::net::tcp::OwnedReadHalf,
    mut to: tokio::net::tcp::OwnedWriteHalf,
    frozen: std::sync::Arc<std::sync::atomic::AtomicBool>,
) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut buffer = vec![0u8; 16 * 1024];
    loop {
        let read = match from.read(&mut buffer).await {
            Ok(0) | Err(_) => return,
            Ok(read) => read,
        };
        while frozen.load(std::sync::atomic::Ordering::SeqCst) {
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
        if to.write_all(&buffer[..read]).await.is_err() {
            return;
        }
    }
}
