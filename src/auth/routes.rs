//! Sign-in and sign-out.

use actix_web::{HttpRequest, HttpResponse, get, post, web};
use askama::Template;

use super::password;
use super::session::{CurrentUser, TypedSession, sign_in, sign_out};
use crate::accounts::store::find_user_by_email;
use crate::email::Email;
use crate::error::AppError;
use crate::startup::AppState;
use crate::web::html;

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

#[get("/login")]
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
    let anonymous = session
        .existing_anonymous_id()
        .ok_or(AppError::CsrfRejected)?;
    if !super::csrf::same_origin(&req)
        || !super::csrf::verify(
            &state.settings.secrets.csrf_key,
            &anonymous,
            &form.csrf_token,
        )
    {
        return Err(AppError::CsrfRejected);
    }
    let email = Email::parse(&form.email).ok();
    let user = match email {
        Some(email) => {
            crate::db::run(&state.pool, move |conn| {
                find_user_by_email(conn, &email).map_err(AppError::from)
            })
            .await?
        }
        None => None,
    };
    let candidate = form.password;
    let verified_user = web::block(move || match user {
        Some(user)
            if password::verify(&candidate, &user.password_hash) && user.disabled_at.is_none() =>
        {
            Some(user)
        }
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
            sign_in(&req, &state, user.id).await?;
            Ok(HttpResponse::SeeOther()
                .insert_header(("Location", "/configuration"))
                .finish())
        }
        None => {
            tracing::info!("sign-in failed");
            let page = LoginPage {
                csrf_token: super::csrf::token(&state.settings.secrets.csrf_key, &anonymous),
                email: form.email.trim(),
                error: Some(LOGIN_FAILED),
                notice: None,
            };
            html(page.render()?)
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
    Ok(HttpResponse::SeeOther()
        .insert_header(("Location", "/login?signed_out=1"))
        .finish())
}
