//! The inbound endpoint: integrations deliver conversion events with their key.

pub mod batch;
pub mod currency;
pub mod error;
pub mod key_cache;
pub mod payload;
pub mod rate_limit;
pub mod request;
pub mod routes;
pub mod store;
pub mod writer;
