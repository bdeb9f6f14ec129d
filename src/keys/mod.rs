//! Inbound integration keys: the secret, the rows, and the admin tab.

pub mod audit;
pub mod model;
pub mod name;
pub mod routes;
pub mod secret;
pub mod store;
pub mod views;
