//! CleanClicks inbound integration keys: the admin tab, the inbound endpoint and the
//! operator CLI, in one crate.

pub mod accounts;
pub mod auth;
pub mod cli;
pub mod config;
pub mod db;
pub mod email;
pub mod error;
pub mod inbound;
pub mod keys;
pub mod net;
pub mod schema;
pub mod startup;
pub mod telemetry;
pub mod usage;
pub mod web;
