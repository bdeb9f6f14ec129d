#![allow(clippy::unwrap_used)]
// One test binary for the whole API: helpers plus one file per feature.
mod auth;
mod cli;
mod docs;
mod helpers;
mod inbound;
mod inbound_contract;
mod keys_lifecycle;
mod plan_limits;
mod security;
mod tenancy;
mod usage;
