//! Sign-in and sign-out.

use actix_web::{HttpRequest, HttpResponse, post, route, web};
use askama::Template;

use super::session::{CurrentUser, TypedSession, sign_in, sign_out};
use super::{password, throttle};
use crate::accounts::store::find_user_by_email;
use crate::email::Email;
use crate::error::AppError;
use crate::startup::AppState;
use crate::web::{html, html_with_status};
use actix_web::http::StatusCode;

#[derive(Template)]
#[template(path = "login.html")]
struct LoginPage<'a> {
    csrf_token: String,
    email: &'a str,
    error: Option<&'a str>,
    notice: Option<&'a str>,
}

#[derive(serde::Deserialize)]
pub struct LoginQuery {
    signed_out: Option<String>,
}

#[route("/login", method = "GET", method = "HEAD")]
pub async fn login_form(
    req: HttpRequest,
    state: web::Data<AppState>,
    query: web::Query<LoginQuery>,
) -> Result<HttpResponse, AppError> {
    let anonymous = TypedSession::of(&req).anonymous_id()?;
    let page = LoginPage {
        csrf_token: super::csrf::token(&state.settings.secrets.csrf_key, &anonymous),
        email: "",
        error: None,
        notice: query.signed_out.as_ref().map(|_| "You have signed out."),
    };
    html(page.render()?)
}

#[derive(serde::Deserialize)]
pub struct LoginForm {
    #[serde(default)]
    email: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    csrf_token: String,
}

/// One message for every failure, so the form does not reveal which emails exist.
const LOGIN_FAILED: &str = "The email or password is incorrect.";

#[post("/login")]
pub async fn login(
    req: HttpRequest,
    state: web::Data<AppState>,
    form: web::Form<LoginForm>,
) -> Result<HttpResponse, AppError> {
    let form = form.into_inner();
    let session = TypedSession::of(&req);
    let anonymous = session.existing_anonymous_id().ok_or(AppError::CsrfRejected)?;
    if !super::csrf::same_origin(&req)
        || !super::csrf::verify(&state.settings.secrets.csrf_key, &anonymous, &form.csrf_token)
    {
        return Err(AppError::CsrfRejected);
    }
    let render_error = |status: StatusCode, error: &str| -> Result<HttpResponse, AppError> {
        let page = LoginPage {
            csrf_token: super::csrf::token(&state.settings.secrets.csrf_key, &anonymous),
            email: form.email.trim(),
            error: Some(error),
            notice: None,
        };
        html_with_status(status, page.render()?)
    };
    // Throttling keys on what was typed (bounded, no control characters, which the
    // database's text type refuses), valid address or not.
    let throttle_email: String =
        form.email.trim().to_lowercase().chars().filter(|c| !c.is_control()).take(254).collect();
    let ip = crate::net::request_client_ip(&req, &state.settings.trusted_proxies)
        .map(|ip| ip.to_string())
        .unwrap_or_else(|| "unknown".to_owned());
    let email = Email::parse(&form.email).ok();
    let (user, retry_at) = {
        let (throttle_email, ip) = (throttle_email.clone(), ip.clone());
        crate::db::run(&state.pool, move |conn| -> Result<_, AppError> {
            let retry_at = throttle::retry_at(conn, &throttle_email, &ip)?;
            let user = match (&email, retry_at) {
                (Some(email), None) => find_user_by_email(conn, email)?,
                _ => None,
            };
            Ok((user, retry_at))
        })
        .await?
    };
    if let Some(retry_at) = retry_at {
        let minutes = ((retry_at - chrono::Utc::now()).num_seconds().max(1) + 59) / 60;
        tracing::warn!(ip = %ip, "sign-in throttled");
        let message = format!(
            "Too many failed sign-in attempts. Try again in {minutes} minute{} (at {} UTC).",
            if minutes == 1 { "" } else { "s" },
            retry_at.format("%H:%M")
        );
        let mut response = render_error(StatusCode::TOO_MANY_REQUESTS, &message)?;
        response.headers_mut().insert(
            actix_web::http::header::RETRY_AFTER,
            actix_web::http::header::HeaderValue::from(minutes as u64 * 60),
        );
        return Ok(response);
    }
    let candidate = form.password.clone();
    let verified_user = web::block(move || match user {
        Some(user) if password::verify(&candidate, &user.password_hash) && user.disabled_at.is_none() => Some(user),
        Some(_) => None,
        None => {
            password::verify_against_dummy(&candidate);
            None
        }
    })
    .await
    .map_err(|_| AppError::Unavailable)?;

    match verified_user {
        Some(user) => {
            tracing::info!(user_id = %user.id, "signed in");
            crate::db::run(&state.pool, move |conn| {
                throttle::signed_in(conn, &throttle_email, &ip).map_err(AppError::from)
            })
            .await?;
            sign_in(&req, &state, user.id).await?;
            Ok(HttpResponse::SeeOther().insert_header(("Location", "/configuration")).finish())
        }
        None => {
            tracing::info!(ip = %ip, "sign-in failed");
            crate::db::run(&state.pool, move |conn| {
                throttle::record_failure(conn, &throttle_email, &ip).map_err(AppError::from)
            })
            .await?;
            render_error(StatusCode::OK, LOGIN_FAILED)
        }
    }
}

#[derive(serde::Deserialize)]
pub struct LogoutForm {
    #[serde(default)]
    csrf_token: String,
}

#[post("/logout")]
pub async fn logout(
    req: HttpRequest,
    state: web::Data<AppState>,
    user: CurrentUser,
    form: web::Form<LogoutForm>,
) -> Result<HttpResponse, AppError> {
    user.check_csrf(&req, &form.csrf_token, &state)?;
    sign_out(&req, &state).await?;
    Ok(HttpResponse::SeeOther().insert_header(("Location", "/login?signed_out=1")).finish())
}
