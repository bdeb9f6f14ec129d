//! The admin app's error type, turned into an HTML response in one place.
//! (The inbound endpoint has its own JSON error type: `inbound::error`.)

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};
use askama::Template;

use crate::db::DbError;

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// Unknown, or another tenant's: the two must look the same.
    #[error("not found")]
    NotFound,
    #[error("forbidden")]
    Forbidden,
    #[error("the form expired or did not come from this site")]
    CsrfRejected,
    #[error("sign in required")]
    LoginRequired,
    #[error("{0}")]
    BadRequest(String),
    #[error("database unavailable")]
    Unavailable,
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

impl From<DbError> for AppError {
    fn from(e: DbError) -> Self {
        if e.is_unavailable() {
            tracing::warn!(error = %e, "answered 503: database unavailable");
            return AppError::Unavailable;
        }
        match e {
            DbError::Query(diesel::result::Error::NotFound) => AppError::NotFound,
            other => AppError::Internal(other.into()),
        }
    }
}

impl From<diesel::result::Error> for AppError {
    fn from(e: diesel::result::Error) -> Self {
        DbError::from(e).into()
    }
}

impl From<askama::Error> for AppError {
    fn from(e: askama::Error) -> Self {
        AppError::Internal(anyhow::anyhow!("template: {e}"))
    }
}

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage<'a> {
    status: u16,
    title: &'a str,
    message: &'a str,
}

impl AppError {
    fn title_and_message(&self) -> (&'static str, String) {
        match self {
            AppError::NotFound => ("Page not found", "There is nothing here, or you do not have access to it.".into()),
            AppError::Forbidden => ("Not allowed", "Your role in this account cannot do that. Ask an owner or admin.".into()),
            AppError::CsrfRejected => (
                "Form expired",
                "This form was not accepted because it expired or did not come from this site. Go back, reload the page and try again.".into(),
            ),
            AppError::LoginRequired => ("Sign in required", "Please sign in.".into()),
            AppError::BadRequest(message) => ("Bad request", message.clone()),
            AppError::Unavailable => ("Temporarily unavailable", "The database is not answering right now. Try again in a few seconds.".into()),
            AppError::Internal(_) => ("Something went wrong", "An unexpected error occurred. It has been logged; please try again.".into()),
        }
    }
}

/// Renders the shared error page with the given status.
pub fn error_page(status: StatusCode, title: &str, message: &str) -> HttpResponse {
    let page = ErrorPage { status: status.as_u16(), title, message };
    match page.render() {
        Ok(html) => HttpResponse::build(status).content_type("text/html; charset=utf-8").body(html),
        Err(_) => HttpResponse::build(status).content_type("text/plain; charset=utf-8").body(message.to_owned()),
    }
}

impl ResponseError for AppError {
    fn status_code(&self) -> StatusCode {
        match self {
            AppError::NotFound => StatusCode::NOT_FOUND,
            AppError::Forbidden | AppError::CsrfRejected => StatusCode::FORBIDDEN,
            AppError::LoginRequired => StatusCode::SEE_OTHER,
            AppError::BadRequest(_) => StatusCode::BAD_REQUEST,
            AppError::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
            AppError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        if let AppError::LoginRequired = self {
            return HttpResponse::SeeOther().insert_header(("Location", "/login")).finish();
        }
        if let AppError::Internal(e) = self {
            tracing::error!(error = %e, "request failed");
        }
        let (title, message) = self.title_and_message();
        let mut response = error_page(self.status_code(), title, &message);
        if let AppError::Unavailable = self {
            response
                .headers_mut()
                .insert(actix_web::http::header::RETRY_AFTER, actix_web::http::header::HeaderValue::from_static("5"));
        }
        response
    }
}
