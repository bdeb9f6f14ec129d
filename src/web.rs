//! Pieces every admin page shares: the HTML response, the layout context, time
//! formatting, static assets, and the middleware for request ids and security headers.

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{self, HeaderValue};
use actix_web::middleware::Next;
use actix_web::{HttpMessage, HttpResponse, route};
use chrono::{DateTime, Utc};

use crate::auth::CurrentUser;
use crate::auth::session::Flash;
use crate::error::AppError;

pub fn html(body: String) -> Result<HttpResponse, AppError> {
    Ok(HttpResponse::Ok().content_type("text/html; charset=utf-8").body(body))
}

pub fn html_with_status(status: actix_web::http::StatusCode, body: String) -> Result<HttpResponse, AppError> {
    Ok(HttpResponse::build(status).content_type("text/html; charset=utf-8").body(body))
}

pub fn see_other(location: &str) -> HttpResponse {
    HttpResponse::SeeOther().insert_header((header::LOCATION, location)).finish()
}

/// What the page frame (sidebar, header, domain switcher) needs.
pub struct Layout {
    pub user_email: String,
    pub account_name: String,
    pub role: &'static str,
    pub csrf_token: String,
    pub domains: Vec<String>,
    pub current_domain: Option<String>,
    pub flash: Option<Flash>,
}

impl Layout {
    pub fn new(user: &CurrentUser, domains: Vec<String>, current_domain: Option<&str>, flash: Option<Flash>) -> Self {
        Self {
            user_email: user.user.email.clone(),
            account_name: user.account.name.clone(),
            role: user.role().as_str(),
            csrf_token: user.csrf_token().to_owned(),
            domains,
            current_domain: current_domain.map(str::to_owned),
            flash,
        }
    }

    pub fn flash_is_error(&self) -> bool {
        matches!(&self.flash, Some(f) if f.kind == crate::auth::session::FlashKind::Error)
    }
}

/// "3 minutes ago", for humans; the exact time goes in a `title`.
pub fn relative_time(at: DateTime<Utc>, now: DateTime<Utc>) -> String {
    let seconds = (now - at).num_seconds();
    let plural = |n: i64, unit: &str| {
        if n == 1 { format!("1 {unit} ago") } else { format!("{n} {unit}s ago") }
    };
    match seconds {
        s if s < 45 => "just now".to_owned(),
        s if s < 90 => "1 minute ago".to_owned(),
        s if s < 3600 => plural((s + 30) / 60, "minute"),
        s if s < 86_400 => plural(s / 3600, "hour"),
        s if s < 30 * 86_400 => plural(s / 86_400, "day"),
        _ => short_date(at),
    }
}

pub fn exact_time(at: DateTime<Utc>) -> String {
    at.format("%Y-%m-%d %H:%M:%S UTC").to_string()
}

pub fn short_date(at: DateTime<Utc>) -> String {
    at.format("%b %-d, %Y").to_string()
}

pub fn iso_time(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

// Static assets are compiled in, so the binary serves its own look from any directory.
const APP_CSS: &str = include_str!("../static/app.css");
const APP_JS: &str = include_str!("../static/app.js");

#[route("/static/app.css", method = "GET", method = "HEAD")]
pub async fn app_css() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/css; charset=utf-8")
        .insert_header((header::CACHE_CONTROL, "public, max-age=300"))
        .body(APP_CSS)
}

#[route("/static/app.js", method = "GET", method = "HEAD")]
pub async fn app_js() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/javascript; charset=utf-8")
        .insert_header((header::CACHE_CONTROL, "public, max-age=300"))
        .body(APP_JS)
}

/// A request's id: in every response's `X-Request-Id`, every error body and every log line.
#[derive(Debug, Clone)]
pub struct RequestId(pub String);

/// Gives each request an id, logs one line per request (method, path, status, time —
/// never headers, query strings or bodies, which may hold secrets) and sets the id header.
pub async fn request_id_and_log(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let id = uuid::Uuid::new_v4().simple().to_string();
    req.extensions_mut().insert(RequestId(id.clone()));
    let method = req.method().clone();
    let path = req.path().to_owned();
    let started = std::time::Instant::now();
    let span = tracing::info_span!("request", request_id = %id);
    let mut res = tracing::Instrument::instrument(next.call(req), span.clone()).await?;
    let status = res.status().as_u16();
    span.in_scope(|| {
        tracing::info!(%method, path = %path, status, elapsed_ms = started.elapsed().as_millis() as u64, "handled");
    });
    if let Ok(value) = HeaderValue::from_str(&id) {
        res.headers_mut().insert(header::HeaderName::from_static("x-request-id"), value);
    }
    Ok(res)
}

/// Headers for every admin page: strict CSP without inline script, no framing, no
/// sniffing, and no caching of pages that may show a key or account data.
pub fn security_headers(https: bool) -> actix_web::middleware::DefaultHeaders {
    let mut headers = actix_web::middleware::DefaultHeaders::new()
        .add((
            header::CONTENT_SECURITY_POLICY,
            "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; \
             form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
        ))
        .add((header::X_FRAME_OPTIONS, "DENY"))
        .add((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .add((header::REFERRER_POLICY, "same-origin"))
        .add((header::CACHE_CONTROL, "no-store"));
    if https {
        headers = headers.add((header::STRICT_TRANSPORT_SECURITY, "max-age=31536000; includeSubDomains"));
    }
    headers
}

/// Headers for every other answer (the inbound endpoint, the probes): JSON is never
/// rendered as a page, framed or sniffed. The admin pages' stricter set, inside, wins
/// where both apply (`DefaultHeaders` only adds what is missing).
pub fn api_headers(https: bool) -> actix_web::middleware::DefaultHeaders {
    let mut headers = actix_web::middleware::DefaultHeaders::new()
        .add((header::CONTENT_SECURITY_POLICY, "default-src 'none'; frame-ancestors 'none'"))
        .add((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .add((header::REFERRER_POLICY, "no-referrer"))
        .add((header::CACHE_CONTROL, "no-store"));
    if https {
        headers = headers.add((header::STRICT_TRANSPORT_SECURITY, "max-age=31536000; includeSubDomains"));
    }
    headers
}

pub fn request_id_of(req: &actix_web::HttpRequest) -> String {
    req.extensions().get::<RequestId>().map(|r| r.0.clone()).unwrap_or_default()
}

pub async fn not_found() -> HttpResponse {
    crate::error::error_page(
        actix_web::http::StatusCode::NOT_FOUND,
        "Page not found",
        "There is nothing here, or you do not have access to it.",
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relative_times_read_naturally() {
        let now = Utc::now();
        assert_eq!(relative_time(now, now), "just now");
        assert_eq!(relative_time(now - chrono::Duration::minutes(3), now), "3 minutes ago");
        assert_eq!(relative_time(now - chrono::Duration::hours(1), now), "1 hour ago");
        assert_eq!(relative_time(now - chrono::Duration::days(2), now), "2 days ago");
    }
}
