//! The inbound endpoint: integrations deliver conversion events with their key.

pub mod currency;
pub mod error;
pub mod payload;
pub mod routes;
pub mod store;
