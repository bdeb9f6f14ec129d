//! Accounts (workspaces) and their plans, users and domains.

pub mod hostname;
pub mod model;
pub mod plan;
pub mod role;
pub mod store;

pub use hostname::Hostname;
pub use model::{Account, Domain, User};
pub use plan::Plan;
pub use role::Role;
