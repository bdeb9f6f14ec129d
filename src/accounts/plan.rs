//! Plans and what they allow.

use std::fmt;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Plan {
    Pulse,
    Signal,
    Clarity,
    Command,
}

#[derive(Debug, thiserror::Error)]
#[error("unknown plan {0:?}: expected pulse, signal, clarity or command")]
pub struct UnknownPlan(pub String);

impl Plan {
    pub const ALL: [Plan; 4] = [Plan::Pulse, Plan::Signal, Plan::Clarity, Plan::Command];

    pub fn parse(raw: &str) -> Result<Self, UnknownPlan> {
        match raw.trim().to_ascii_lowercase().as_str() {
            "pulse" => Ok(Plan::Pulse),
            "signal" => Ok(Plan::Signal),
            "clarity" => Ok(Plan::Clarity),
            "command" => Ok(Plan::Command),
            _ => Err(UnknownPlan(raw.to_owned())),
        }
    }

    /// As stored in `accounts.plan`.
    pub fn as_str(self) -> &'static str {
        match self {
            Plan::Pulse => "pulse",
            Plan::Signal => "signal",
            Plan::Clarity => "clarity",
            Plan::Command => "command",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Plan::Pulse => "Pulse",
            Plan::Signal => "Signal",
            Plan::Clarity => "Clarity",
            Plan::Command => "Command",
        }
    }

    /// Most inbound integration keys a domain may hold (active and revoked);
    /// `None` is unlimited.
    pub fn key_limit(self) -> Option<i64> {
        match self {
            Plan::Pulse => Some(2),
            Plan::Signal => Some(5),
            Plan::Clarity => Some(10),
            Plan::Command => None,
        }
    }

    /// The next plan with room for more keys, to name in the "upgrade" hint.
    pub fn next(self) -> Option<Plan> {
        match self {
            Plan::Pulse => Some(Plan::Signal),
            Plan::Signal => Some(Plan::Clarity),
            Plan::Clarity => Some(Plan::Command),
            Plan::Command => None,
        }
    }
}

impl fmt::Display for Plan {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.label())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_match_the_plans() {
        assert_eq!(Plan::Pulse.key_limit(), Some(2));
        assert_eq!(Plan::Signal.key_limit(), Some(5));
        assert_eq!(Plan::Clarity.key_limit(), Some(10));
        assert_eq!(Plan::Command.key_limit(), None);
    }

    #[test]
    fn parses_case_insensitively_and_round_trips() {
        for plan in Plan::ALL {
            assert_eq!(Plan::parse(plan.as_str()).unwrap(), plan);
            assert_eq!(Plan::parse(&plan.label().to_uppercase()).unwrap(), plan);
        }
        assert!(Plan::parse("gold").is_err());
        assert!(Plan::parse("").is_err());
    }
}
