//! Signing in: passwords, server-side sessions, CSRF, and the login routes.

pub mod csrf;
pub mod password;
pub mod routes;
pub mod session;
pub mod throttle;

pub use session::CurrentUser;
