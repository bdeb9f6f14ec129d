//! What a user may do in their account.

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    Owner,
    Admin,
    Viewer,
}

#[derive(Debug, thiserror::Error)]
#[error("unknown role {0:?}: expected owner, admin or viewer")]
pub struct UnknownRole(pub String);

impl Role {
    pub fn parse(raw: &str) -> Result<Self, UnknownRole> {
        match raw.trim().to_ascii_lowercase().as_str() {
            "owner" => Ok(Role::Owner),
            "admin" => Ok(Role::Admin),
            "viewer" => Ok(Role::Viewer),
            _ => Err(UnknownRole(raw.to_owned())),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Owner => "owner",
            Role::Admin => "admin",
            Role::Viewer => "viewer",
        }
    }

    /// Owners and admins create, revoke, restore and delete keys; viewers only look.
    pub fn can_manage_keys(self) -> bool {
        matches!(self, Role::Owner | Role::Admin)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_owners_and_admins_manage_keys() {
        assert!(Role::parse("Owner").unwrap().can_manage_keys());
        assert!(Role::parse("admin").unwrap().can_manage_keys());
        assert!(!Role::parse("viewer").unwrap().can_manage_keys());
        assert!(Role::parse("root").is_err());
    }
}
