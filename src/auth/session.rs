//! Server-side admin sessions. The encrypted cookie holds only a random session id;
//! `admin_sessions` holds its SHA-256, so logout and password changes can end sessions
//! that a cookie alone could not.

use actix_session::{Session, SessionExt};
use actix_web::dev::Payload;
use actix_web::{FromRequest, HttpRequest, web};
use base64::Engine;
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::accounts::{Account, Role, User};
use crate::error::AppError;
use crate::schema::{accounts, admin_sessions, users};
use crate::startup::AppState;

/// Session keys. The cookie never holds anything but these.
const SESSION_ID: &str = "sid";
/// A pre-login id, so the login form has a CSRF token before anyone signs in.
const ANONYMOUS_ID: &str = "anon";
const FLASH: &str = "flash";

/// How often `last_seen_at` is written at most: enough for the idle timeout (a quarter
/// of it, so an active user is never signed out early), cheap per request.
const TOUCH_EVERY_SECONDS: i64 = 60;

pub fn new_session_id() -> String {
    let mut bytes = [0u8; 32];
    rand::fill(&mut bytes);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

fn sid_hash(sid: &str) -> Vec<u8> {
    Sha256::digest(sid.as_bytes()).to_vec()
}

#[derive(Debug, Clone, serde::Serialize, serde::Deserialize, PartialEq, Eq)]
pub struct Flash {
    pub kind: FlashKind,
    pub message: String,
}

#[derive(Debug, Clone, Copy, serde::Serialize, serde::Deserialize, PartialEq, Eq)]
pub enum FlashKind {
    Success,
    Error,
}

/// Typed access to the few things the cookie session holds.
pub struct TypedSession(Session);

impl TypedSession {
    pub fn of(req: &HttpRequest) -> Self {
        Self(req.get_session())
    }

    fn session_id(&self) -> Option<String> {
        self.0.get::<String>(SESSION_ID).ok().flatten()
    }

    /// The anonymous id for forms shown before sign-in, created on first use.
    pub fn anonymous_id(&self) -> Result<String, AppError> {
        if let Some(id) = self.0.get::<String>(ANONYMOUS_ID).ok().flatten() {
            return Ok(id);
        }
        let id = new_session_id();
        self.0.insert(ANONYMOUS_ID, &id).map_err(|e| AppError::Internal(anyhow::anyhow!("session: {e}")))?;
        Ok(id)
    }

    pub fn existing_anonymous_id(&self) -> Option<String> {
        self.0.get::<String>(ANONYMOUS_ID).ok().flatten()
    }

    /// A fresh cookie session holding only the new session id (no fixation).
    fn start(&self, sid: &str) -> Result<(), AppError> {
        self.0.renew();
        self.0.clear();
        self.0.insert(SESSION_ID, sid).map_err(|e| AppError::Internal(anyhow::anyhow!("session: {e}")))
    }

    pub fn purge(&self) {
        self.0.purge();
    }

    pub fn set_flash(&self, kind: FlashKind, message: impl Into<String>) {
        // A lost flash message is cosmetic; never fail the action over it.
        let _ = self.0.insert(FLASH, Flash { kind, message: message.into() });
    }

    pub fn take_flash(&self) -> Option<Flash> {
        self.0.remove_as::<Flash>(FLASH).and_then(Result::ok)
    }
}

/// Records a new session for the user and puts its id in a renewed cookie.
pub async fn sign_in(req: &HttpRequest, state: &AppState, user_id: Uuid) -> Result<(), AppError> {
    let sid = new_session_id();
    let hash = sid_hash(&sid);
    crate::db::run(&state.pool, move |conn| {
        diesel::insert_into(admin_sessions::table)
            .values((admin_sessions::sid_sha256.eq(hash), admin_sessions::user_id.eq(user_id)))
            .execute(conn)
            .map_err(AppError::from)
    })
    .await?;
    TypedSession::of(req).start(&sid)
}

/// Ends the session server-side (a replayed cookie is worthless) and clears the cookie.
pub async fn sign_out(req: &HttpRequest, state: &AppState) -> Result<(), AppError> {
    let session = TypedSession::of(req);
    if let Some(sid) = session.session_id() {
        let hash = sid_hash(&sid);
        crate::db::run(&state.pool, move |conn| {
            diesel::update(admin_sessions::table.filter(admin_sessions::sid_sha256.eq(hash)))
                .set(admin_sessions::revoked_at.eq(diesel::dsl::now))
                .execute(conn)
                .map_err(AppError::from)
        })
        .await?;
    }
    session.purge();
    Ok(())
}

/// The signed-in user of a request, checked against `admin_sessions` every time.
#[derive(Debug, Clone)]
pub struct CurrentUser {
    pub user: User,
    pub account: Account,
    session_id: String,
    csrf_token: String,
}

impl CurrentUser {
    pub fn role(&self) -> Role {
        self.user.role()
    }

    pub fn csrf_token(&self) -> &str {
        &self.csrf_token
    }

    /// Every state-changing request calls this before doing anything.
    pub fn check_csrf(&self, req: &HttpRequest, submitted: &str, state: &AppState) -> Result<(), AppError> {
        if crate::auth::csrf::same_origin(req)
            && crate::auth::csrf::verify(&state.settings.secrets.csrf_key, &self.session_id, submitted)
        {
            Ok(())
        } else {
            tracing::warn!(user_id = %self.user.id, "CSRF check failed");
            Err(AppError::CsrfRejected)
        }
    }

    pub fn require_key_manager(&self) -> Result<(), AppError> {
        if self.role().can_manage_keys() { Ok(()) } else { Err(AppError::Forbidden) }
    }
}

struct SessionRow {
    id: Uuid,
    created_at: DateTime<Utc>,
    last_seen_at: DateTime<Utc>,
}

async fn load_current_user(req: HttpRequest) -> Result<CurrentUser, AppError> {
    let state = req
        .app_data::<web::Data<AppState>>()
        .ok_or_else(|| AppError::Internal(anyhow::anyhow!("no app state")))?
        .clone();
    let session = TypedSession::of(&req);
    let sid = session.session_id().ok_or(AppError::LoginRequired)?;
    let hash = sid_hash(&sid);
    let idle = state.settings.session_idle;
    let max = state.settings.session_max;
    let found = crate::db::run(&state.pool, move |conn| -> Result<_, AppError> {
        let row = admin_sessions::table
            .inner_join(users::table.inner_join(accounts::table))
            .filter(admin_sessions::sid_sha256.eq(hash))
            .filter(admin_sessions::revoked_at.is_null())
            .filter(users::disabled_at.is_null())
            .select((
                admin_sessions::id,
                admin_sessions::created_at,
                admin_sessions::last_seen_at,
                User::as_select(),
                Account::as_select(),
            ))
            .first::<(Uuid, DateTime<Utc>, DateTime<Utc>, User, Account)>(conn)
            .optional()?;
        let Some((id, created_at, last_seen_at, user, account)) = row else {
            return Ok(None);
        };
        let session = SessionRow { id, created_at, last_seen_at };
        let now = Utc::now();
        if now - session.last_seen_at > idle || now - session.created_at > max {
            diesel::update(admin_sessions::table.find(session.id))
                .set(admin_sessions::revoked_at.eq(diesel::dsl::now))
                .execute(conn)?;
            return Ok(None);
        }
        if (now - session.last_seen_at).num_seconds() >= TOUCH_EVERY_SECONDS.min(idle.num_seconds() / 4) {
            diesel::update(admin_sessions::table.find(session.id))
                .set(admin_sessions::last_seen_at.eq(diesel::dsl::now))
                .execute(conn)?;
        }
        Ok(Some((user, account)))
    })
    .await?;
    match found {
        Some((user, account)) => {
            let csrf_token = crate::auth::csrf::token(&state.settings.secrets.csrf_key, &sid);
            Ok(CurrentUser { user, account, session_id: sid, csrf_token })
        }
        None => {
            // Expired or revoked: drop the dead cookie so the browser stops sending it.
            session.purge();
            Err(AppError::LoginRequired)
        }
    }
}

impl FromRequest for CurrentUser {
    type Error = AppError;
    type Future = std::pin::Pin<Box<dyn std::future::Future<Output = Result<Self, Self::Error>>>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        Box::pin(load_current_user(req.clone()))
    }
}
