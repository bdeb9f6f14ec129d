//! The Inbound Integration Keys tab: list, create (revealed once), revoke, restore, delete.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, post, route, web};
use askama::Template;
use chrono::Utc;
use uuid::Uuid;

use super::audit::{self, Actor, AuditAction};
use super::model::ListedKey;
use super::name::KeyName;
use super::store::{self, CreateKeyError};
use super::views::{AuditView, KeyView, Usage};
use crate::accounts::store::{domain_of_account, domains_of_account};
use crate::accounts::{Domain, Plan};
use crate::auth::CurrentUser;
use crate::auth::session::{FlashKind, TypedSession};
use crate::error::AppError;
use crate::startup::AppState;
use crate::usage::insight;
use crate::web::{Layout, exact_time, html, html_with_status, relative_time, see_other};

/// Placeholder used in every example: never a string shaped like a real key.
const EXAMPLE_KEY: &str = "cc_YOUR_KEY";

fn tab_path(hostname: &str) -> String {
    format!("/configuration/{hostname}/inbound-keys")
}

pub struct CreateForm {
    pub action: String,
    pub form_token: String,
    pub name: String,
    pub error: Option<String>,
}

impl CreateForm {
    fn blank(hostname: &str) -> Self {
        Self { action: tab_path(hostname), form_token: Uuid::new_v4().to_string(), name: String::new(), error: None }
    }
}

#[derive(Template)]
#[template(path = "keys/tab.html")]
struct TabPage {
    layout: Layout,
    domain: String,
    tab_path: String,
    inbound_url: String,
    local_inbound_url: Option<String>,
    example_key: &'static str,
    keys: Vec<KeyView>,
    usage: Usage,
    can_manage: bool,
    form: CreateForm,
    revoked_but_called: Vec<insight::RevokedButCalled>,
    /// Keys page (0-based) and number of pages.
    page: i64,
    pages: i64,
    audit: Vec<AuditView>,
    audit_page: i64,
    audit_more: bool,
}

#[derive(Template)]
#[template(path = "keys/new.html")]
struct NewKeyPage {
    layout: Layout,
    domain: String,
    tab_path: String,
    usage: Usage,
    form: CreateForm,
}

#[derive(Template)]
#[template(path = "keys/reveal.html")]
struct RevealPage {
    layout: Layout,
    domain: String,
    tab_path: String,
    name: String,
    full_key: String,
    inbound_url: String,
    local_inbound_url: Option<String>,
}

#[derive(Template)]
#[template(path = "keys/notice.html")]
struct NoticePage {
    layout: Layout,
    domain: String,
    tab_path: String,
    title: String,
    message: String,
}

#[derive(Template)]
#[template(path = "keys/confirm.html")]
struct ConfirmPage {
    layout: Layout,
    domain: String,
    tab_path: String,
    key: KeyView,
    action: Action,
    error: Option<String>,
    /// Opened from the key's own page: Cancel and a revoke or restore go back there.
    from_key_page: bool,
}

/// Where a confirmation was opened from. A closed set, so it can never redirect elsewhere.
#[derive(serde::Deserialize, Default)]
pub struct ConfirmOrigin {
    #[serde(default)]
    from: Option<String>,
}

impl ConfirmOrigin {
    fn key_page(&self) -> bool {
        self.from.as_deref() == Some("key")
    }
}

#[derive(Template)]
#[template(path = "configuration.html")]
struct ConfigurationPage {
    layout: Layout,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Revoke,
    Restore,
    Delete,
}

impl Action {
    fn parse(raw: &str) -> Result<Self, AppError> {
        match raw {
            "revoke" => Ok(Action::Revoke),
            "restore" => Ok(Action::Restore),
            "delete" => Ok(Action::Delete),
            _ => Err(AppError::NotFound),
        }
    }

    pub fn slug(self) -> &'static str {
        match self {
            Action::Revoke => "revoke",
            Action::Restore => "restore",
            Action::Delete => "delete",
        }
    }

    pub fn title(self) -> &'static str {
        match self {
            Action::Revoke => "Revoke key",
            Action::Restore => "Restore key",
            Action::Delete => "Delete key",
        }
    }

    fn audit(self) -> AuditAction {
        match self {
            Action::Revoke => AuditAction::Revoke,
            Action::Restore => AuditAction::Restore,
            Action::Delete => AuditAction::Delete,
        }
    }

    pub fn is_delete(self) -> bool {
        self == Action::Delete
    }

    pub fn is_danger(self) -> bool {
        self != Action::Restore
    }
}

/// The signed-in user's domain by hostname; another account's domain is 404.
async fn domain_for(state: &AppState, user: &CurrentUser, hostname: &str) -> Result<(Domain, Vec<String>), AppError> {
    let account_id = user.account.id;
    // Parsed at the edge: something that is no hostname (a NUL byte, say) names no domain.
    let hostname = crate::accounts::Hostname::parse(hostname).map_err(|_| AppError::NotFound)?;
    crate::db::run(&state.pool, move |conn| -> Result<_, AppError> {
        let domain = domain_of_account(conn, account_id, hostname.as_str())?.ok_or(AppError::NotFound)?;
        let all = domains_of_account(conn, account_id)?.into_iter().map(|d| d.hostname).collect();
        Ok((domain, all))
    })
    .await
}

/// Who is acting and from where, for the audit trail.
fn actor(req: &HttpRequest, user: &CurrentUser, state: &AppState) -> Actor {
    let user_agent =
        req.headers().get("user-agent").map(|v| String::from_utf8_lossy(v.as_bytes()).chars().take(300).collect());
    Actor {
        user_id: user.user.id,
        email: user.user.email.clone(),
        ip: crate::net::request_client_ip(req, &state.settings.trusted_proxies).map(|ip| ip.to_string()),
        user_agent,
    }
}

fn parse_key_id(raw: &str) -> Result<Uuid, AppError> {
    Uuid::parse_str(raw).map_err(|_| AppError::NotFound)
}

#[route("/", method = "GET", method = "HEAD")]
pub async fn root() -> HttpResponse {
    see_other("/configuration")
}

#[route("/configuration", method = "GET", method = "HEAD")]
pub async fn configuration(
    req: HttpRequest,
    state: web::Data<AppState>,
    user: CurrentUser,
) -> Result<HttpResponse, AppError> {
    let account_id = user.account.id;
    let domains =
        crate::db::run(&state.pool, move |conn| domains_of_account(conn, account_id).map_err(AppError::from)).await?;
    if let [only] = domains.as_slice() {
        return Ok(see_other(&tab_path(&only.hostname)));
    }
    let flash = TypedSession::of(&req).take_flash();
    let layout = Layout::new(&user, domains.into_iter().map(|d| d.hostname).collect(), None, flash);
    html(ConfigurationPage { layout }.render()?)
}

/// Keys shown per page of the tab.
pub const KEYS_PER_PAGE: i64 = 50;

/// The plan usage of a domain (every existing key counts, active or revoked).
async fn usage_of(state: &AppState, domain: &Domain, plan: Plan) -> Result<Usage, AppError> {
    let domain_id = domain.id;
    let count =
        crate::db::run(&state.pool, move |conn| store::count_keys(conn, domain_id).map_err(AppError::from)).await?;
    Ok(Usage { count, limit: plan.key_limit(), plan })
}

/// Everything the tab shows, read in one go on the blocking pool.
struct TabData {
    count: i64,
    keys: Vec<ListedKey>,
    insight: std::collections::HashMap<Uuid, insight::KeyInsight>,
    revoked_but_called: Vec<insight::RevokedButCalled>,
    audit: Vec<audit::AuditEvent>,
    audit_more: bool,
}

fn load_tab(conn: &mut diesel::PgConnection, domain_id: Uuid, page: i64, audit_page: i64) -> Result<TabData, AppError> {
    let count = store::count_keys(conn, domain_id)?;
    let keys = store::list_keys_page(conn, domain_id, page * KEYS_PER_PAGE, KEYS_PER_PAGE)?;
    let ids: Vec<Uuid> = keys.iter().map(|k| k.key.id).collect();
    let insight = insight::for_keys(conn, &ids, Utc::now())?;
    let revoked_but_called = insight::revoked_but_called(conn, domain_id)?;
    let (audit, audit_more) = audit::page(conn, domain_id, audit_page)?;
    Ok(TabData { count, keys, insight, revoked_but_called, audit, audit_more })
}

#[route("/configuration/{domain}/inbound-keys", method = "GET", method = "HEAD")]
pub async fn tab(
    req: HttpRequest,
    state: web::Data<AppState>,
    user: CurrentUser,
    path: web::Path<String>,
    query: web::Query<TabQuery>,
) -> Result<HttpResponse, AppError> {
    let (domain, domains) = domain_for(&state, &user, &path).await?;
    let page = query.page.unwrap_or(0).clamp(0, 100_000);
    let audit_page = query.audit_page.unwrap_or(0).clamp(0, 10_000);
    let domain_id = domain.id;
    let data = crate::db::run(&state.pool, move |conn| load_tab(conn, domain_id, page, audit_page)).await?;
    let plan = user.account.plan();
    let now = Utc::now();
    let flash = TypedSession::of(&req).take_flash();
    let pages = (data.count + KEYS_PER_PAGE - 1) / KEYS_PER_PAGE;
    let page = TabPage {
        layout: Layout::new(&user, domains, Some(&domain.hostname), flash),
        tab_path: tab_path(&domain.hostname),
        inbound_url: state.settings.inbound_url_for(&domain.hostname),
        local_inbound_url: local_inbound_url(&req, &state, &domain.hostname),
        example_key: EXAMPLE_KEY,
        keys: data.keys.iter().map(|k| KeyView::from(k, data.insight.get(&k.key.id), now)).collect(),
        usage: Usage { count: data.count, limit: plan.key_limit(), plan },
        can_manage: user.role().can_manage_keys(),
        form: CreateForm::blank(&domain.hostname),
        revoked_but_called: data.revoked_but_called,
        page,
        pages,
        audit: data.audit.iter().map(|e| AuditView::from(e, now)).collect(),
        audit_page,
        audit_more: data.audit_more,
        domain: domain.hostname,
    };
    html(page.render()?)
}

#[derive(serde::Deserialize)]
pub struct TabQuery {
    page: Option<i64>,
    audit_page: Option<i64>,
}

/// The create form as a page of its own: the no-JavaScript path, and where name
/// errors are shown inline.
#[route("/configuration/{domain}/inbound-keys/new", method = "GET", method = "HEAD")]
pub async fn new_key(
    state: web::Data<AppState>,
    user: CurrentUser,
    path: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let (domain, domains) = domain_for(&state, &user, &path).await?;
    user.require_key_manager()?;
    let usage = usage_of(&state, &domain, user.account.plan()).await?;
    let page = NewKeyPage {
        layout: Layout::new(&user, domains, Some(&domain.hostname), None),
        tab_path: tab_path(&domain.hostname),
        usage,
        form: CreateForm::blank(&domain.hostname),
        domain: domain.hostname,
    };
    html(page.render()?)
}

#[derive(serde::Deserialize)]
pub struct CreateKeyForm {
    #[serde(default)]
    name: String,
    #[serde(default)]
    form_token: String,
    #[serde(default)]
    csrf_token: String,
}

#[post("/configuration/{domain}/inbound-keys")]
pub async fn create(
    req: HttpRequest,
    state: web::Data<AppState>,
    user: CurrentUser,
    path: web::Path<String>,
    form: web::Form<CreateKeyForm>,
) -> Result<HttpResponse, AppError> {
    let (domain, domains) = domain_for(&state, &user, &path).await?;
    user.check_csrf(&req, &form.csrf_token, &state)?;
    user.require_key_manager()?;
    let hostname = domain.hostname.clone();
    let form_token = Uuid::parse_str(form.form_token.trim()).map_err(|_| {
        AppError::BadRequest("The form is missing its one-time token. Reload the page and try again.".into())
    })?;

    let show_form_error = |usage: Usage, message: String| -> Result<HttpResponse, AppError> {
        let page = NewKeyPage {
            layout: Layout::new(&user, domains.clone(), Some(&hostname), None),
            tab_path: tab_path(&hostname),
            usage,
            form: CreateForm {
                action: tab_path(&hostname),
                form_token: form_token.to_string(),
                // Echo what was typed, minus what cannot be shown (NUL and other controls).
                name: form.name.chars().filter(|c| !c.is_control()).collect(),
                error: Some(message),
            },
            domain: hostname.clone(),
        };
        html_with_status(StatusCode::UNPROCESSABLE_ENTITY, page.render()?)
    };

    let name = match KeyName::parse(&form.name) {
        Ok(name) => name,
        Err(e) => {
            let usage = usage_of(&state, &domain, user.account.plan()).await?;
            return show_form_error(usage, e.to_string());
        }
    };
    let domain_id = domain.id;
    let created = {
        let (name, actor) = (name.clone(), actor(&req, &user, &state));
        crate::db::run(&state.pool, move |conn| store::create_key(conn, domain_id, &actor, &name, form_token)).await
    };
    match created {
        Ok(created) => {
            tracing::info!(key_id = %created.row.id, domain = %hostname, "inbound key created");
            let page = RevealPage {
                layout: Layout::new(&user, domains, Some(&hostname), None),
                tab_path: tab_path(&hostname),
                name: created.row.name.clone(),
                full_key: created.plain.expose().to_owned(),
                inbound_url: state.settings.inbound_url_for(&hostname),
                local_inbound_url: local_inbound_url(&req, &state, &hostname),
                domain: hostname,
            };
            // The one response that carries the key: 200, never cached.
            Ok(HttpResponse::Ok()
                .content_type("text/html; charset=utf-8")
                .insert_header(("Cache-Control", "no-store"))
                .body(page.render()?))
        }
        Err(CreateKeyError::NameTaken) => {
            let usage = usage_of(&state, &domain, user.account.plan()).await?;
            show_form_error(
                usage,
                format!("A key named “{}” already exists on {}. Choose another name.", name, hostname),
            )
        }
        Err(CreateKeyError::LimitReached { plan, limit }) => {
            let usage = Usage { count: limit, limit: Some(limit), plan };
            TypedSession::of(&req).set_flash(
                FlashKind::Error,
                format!("Plan limit reached: no key was created. {}", usage.limit_reason()),
            );
            Ok(see_other(&tab_path(&hostname)))
        }
        Err(CreateKeyError::AlreadySubmitted) => {
            let page = NoticePage {
                layout: Layout::new(&user, domains, Some(&hostname), None),
                tab_path: tab_path(&hostname),
                title: "This key was already created".into(),
                message: "This form was already submitted, so the key was created and its value was shown once. \
                          If you did not copy it, delete that key and create a new one."
                    .into(),
                domain: hostname,
            };
            html_with_status(StatusCode::CONFLICT, page.render()?)
        }
        Err(CreateKeyError::Randomness(e)) => Err(AppError::Internal(e.into())),
        Err(CreateKeyError::Db(e)) => Err(e.into()),
    }
}

/// One key of the domain with its insight; another domain's or account's key is 404.
async fn key_view(state: &AppState, domain_id: Uuid, key_id: Uuid) -> Result<KeyView, AppError> {
    let (key, insight) = crate::db::run(&state.pool, move |conn| -> Result<_, AppError> {
        let key = store::find_listed_key(conn, domain_id, key_id)?.ok_or(AppError::NotFound)?;
        let mut insight = insight::for_keys(conn, &[key_id], Utc::now())?;
        Ok((key, insight.remove(&key_id)))
    })
    .await?;
    Ok(KeyView::from(&key, insight.as_ref(), Utc::now()))
}

#[derive(Template)]
#[template(path = "keys/detail.html")]
struct DetailPage {
    layout: Layout,
    domain: String,
    tab_path: String,
    key: KeyView,
    deliveries: Vec<DeliveryView>,
    filter: &'static str,
    can_manage: bool,
}

pub struct DeliveryView {
    pub when: String,
    pub exact: String,
    pub event: String,
    pub outcome: String,
    pub status: i16,
    pub error_code: String,
    pub request_id: String,
}

#[derive(serde::Deserialize)]
pub struct DetailQuery {
    outcome: Option<String>,
}

/// A key's page: usage insight and its recent deliveries, a debugger for integrators.
#[route("/configuration/{domain}/inbound-keys/{key_id}", method = "GET", method = "HEAD")]
pub async fn key_detail(
    state: web::Data<AppState>,
    user: CurrentUser,
    path: web::Path<(String, String)>,
    query: web::Query<DetailQuery>,
) -> Result<HttpResponse, AppError> {
    let (hostname, key_id) = path.into_inner();
    let (domain, domains) = domain_for(&state, &user, &hostname).await?;
    let key_id = parse_key_id(&key_id)?;
    let key = key_view(&state, domain.id, key_id).await?;
    let filter = match query.outcome.as_deref() {
        Some("accepted") => "accepted",
        Some("duplicate") => "duplicate",
        Some("rejected") => "rejected",
        _ => "all",
    };
    let outcome = (filter != "all").then_some(filter);
    let rows =
        crate::db::run(&state.pool, move |conn| insight::deliveries(conn, key_id, outcome).map_err(AppError::from))
            .await?;
    let now = Utc::now();
    let page = DetailPage {
        layout: Layout::new(&user, domains, Some(&domain.hostname), None),
        tab_path: tab_path(&domain.hostname),
        key,
        deliveries: rows
            .into_iter()
            .map(|d| DeliveryView {
                when: relative_time(d.at, now),
                exact: exact_time(d.at),
                event: d.event.unwrap_or_default(),
                outcome: d.outcome,
                status: d.status,
                error_code: d.error_code.unwrap_or_default(),
                request_id: d.request_id.unwrap_or_default(),
            })
            .collect(),
        filter,
        can_manage: user.role().can_manage_keys(),
        domain: domain.hostname,
    };
    html(page.render()?)
}

#[route("/configuration/{domain}/inbound-keys/{key_id}/{action}", method = "GET", method = "HEAD")]
pub async fn confirm(
    state: web::Data<AppState>,
    user: CurrentUser,
    path: web::Path<(String, String, String)>,
    origin: web::Query<ConfirmOrigin>,
) -> Result<HttpResponse, AppError> {
    let (hostname, key_id, action) = path.into_inner();
    let (domain, domains) = domain_for(&state, &user, &hostname).await?;
    let action = Action::parse(&action)?;
    let key_id = parse_key_id(&key_id)?;
    let key = key_view(&state, domain.id, key_id).await?;
    user.require_key_manager()?;
    let page = ConfirmPage {
        layout: Layout::new(&user, domains, Some(&domain.hostname), None),
        tab_path: tab_path(&domain.hostname),
        key,
        action,
        error: None,
        from_key_page: origin.key_page(),
        domain: domain.hostname,
    };
    html(page.render()?)
}

#[derive(serde::Deserialize)]
pub struct ActionForm {
    #[serde(default)]
    csrf_token: String,
    #[serde(default)]
    confirm_name: String,
    #[serde(flatten)]
    origin: ConfirmOrigin,
}

#[post("/configuration/{domain}/inbound-keys/{key_id}/{action}")]
pub async fn act(
    req: HttpRequest,
    state: web::Data<AppState>,
    user: CurrentUser,
    path: web::Path<(String, String, String)>,
    form: web::Form<ActionForm>,
) -> Result<HttpResponse, AppError> {
    let (hostname, key_id, action) = path.into_inner();
    let (domain, domains) = domain_for(&state, &user, &hostname).await?;
    let action = Action::parse(&action)?;
    let key_id = parse_key_id(&key_id)?;
    user.check_csrf(&req, &form.csrf_token, &state)?;
    user.require_key_manager()?;
    let domain_id = domain.id;
    let key = crate::db::run(&state.pool, move |conn| store::find_key(conn, domain_id, key_id).map_err(AppError::from))
        .await?
        .ok_or(AppError::NotFound)?;

    if action == Action::Delete && !crate::keys::name::confirms(&key.name, &form.confirm_name) {
        let listed = ListedKey { key, created_by: None };
        let page = ConfirmPage {
            layout: Layout::new(&user, domains, Some(&domain.hostname), None),
            tab_path: tab_path(&domain.hostname),
            key: KeyView::from(&listed, None, Utc::now()),
            action,
            error: Some("Type the key's name exactly as shown to confirm.".into()),
            from_key_page: form.origin.key_page(),
            domain: domain.hostname,
        };
        return html_with_status(StatusCode::UNPROCESSABLE_ENTITY, page.render()?);
    }

    let actor = actor(&req, &user, &state);
    let done = crate::db::run(&state.pool, move |conn| {
        store::change_key(conn, domain_id, key_id, action.audit(), &actor).map_err(AppError::from)
    })
    .await?
    .ok_or(AppError::NotFound)?;

    tracing::info!(key_id = %done.id, domain = %domain.hostname, action = action.slug(), "inbound key changed");
    let message = match action {
        Action::Revoke => format!(
            "Key “{}” was revoked. Requests using it are now refused; you can restore it at any time.",
            done.name
        ),
        Action::Restore => format!("Key “{}” was restored and works again with the same value.", done.name),
        Action::Delete => format!("Key “{}” was deleted. The events it delivered are kept.", done.name),
    };
    TypedSession::of(&req).set_flash(FlashKind::Success, message);
    if form.origin.key_page() && action != Action::Delete {
        return Ok(see_other(&format!("{}/{}", tab_path(&domain.hostname), done.id)));
    }
    Ok(see_other(&tab_path(&domain.hostname)))
}

/// Where this very server answers inbound requests, when that is not the domain's public
/// inbound URL (a local or staging install, where the public name does not resolve):
/// shown beside the curl example so a first test can be sent at once. Only when the
/// inbound endpoint shares this listener; with `CC_INBOUND_BIND` the operator's
/// `CC_PUBLIC_INBOUND_URL` is the one to use.
fn local_inbound_url(req: &HttpRequest, state: &AppState, hostname: &str) -> Option<String> {
    if state.settings.inbound_bind.is_some() {
        return None;
    }
    let info = req.connection_info();
    let here = format!("{}://{}/__cc/inbound", info.scheme(), info.host());
    (here != state.settings.inbound_url_for(hostname)).then_some(here)
}
