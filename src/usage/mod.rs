//! Usage insight per key: who calls it, how much, and what went wrong — recorded in the
//! background, shown on the keys tab, the key's page and the revoke dialog.

pub mod insight;
pub mod integration;
pub mod recorder;
