//! What the tab and its pages show: keys, plan usage, usage insight and the audit trail,
//! shaped for the templates.

use chrono::{DateTime, Utc};

use super::audit;
use super::model::ListedKey;
use super::secret::masked;
use crate::accounts::Plan;
use crate::usage::insight::KeyInsight;
use crate::usage::integration;
use crate::web::{exact_time, iso_time, relative_time, short_date};

pub struct KeyView {
    pub insight: InsightView,
    pub id: String,
    pub name: String,
    pub masked: String,
    pub created_date: String,
    pub created_exact: String,
    pub created_by: String,
    pub last_used: Option<(String, String, String)>,
    pub active: bool,
    pub revoked_relative: String,
    pub revoked_exact: String,
    /// (origin, when) if the key was sent from a web page.
    pub seen_from_browser: Option<(String, String)>,
}

impl KeyView {
    pub fn from(listed: &ListedKey, insight: Option<&KeyInsight>, now: DateTime<Utc>) -> Self {
        let key = &listed.key;
        Self {
            insight: InsightView::from(insight, now),
            id: key.id.to_string(),
            name: key.name.clone(),
            masked: masked(&key.display_prefix),
            created_date: short_date(key.created_at),
            created_exact: exact_time(key.created_at),
            created_by: listed.created_by.clone().unwrap_or_else(|| "a removed user".to_owned()),
            last_used: key.last_used_at.map(|at| (relative_time(at, now), exact_time(at), iso_time(at))),
            active: key.is_active(),
            revoked_relative: key.revoked_at.map(|at| relative_time(at, now)).unwrap_or_default(),
            revoked_exact: key.revoked_at.map(exact_time).unwrap_or_default(),
            seen_from_browser: key
                .browser_origin
                .clone()
                .zip(key.browser_origin_seen_at)
                .map(|(origin, at)| (origin, relative_time(at, now))),
        }
    }
}

pub struct Usage {
    pub count: i64,
    pub limit: Option<i64>,
    pub plan: Plan,
}

impl Usage {
    pub fn at_limit(&self) -> bool {
        self.limit.is_some_and(|limit| self.count >= limit)
    }

    /// "3 of 5 keys · Signal plan"
    pub fn summary(&self) -> String {
        match self.limit {
            Some(limit) => format!("{} of {} keys · {} plan", self.count, limit, self.plan.label()),
            None => format!(
                "{} {} · {} plan (unlimited)",
                self.count,
                if self.count == 1 { "key" } else { "keys" },
                self.plan.label()
            ),
        }
    }

    /// What to do at the limit: free a slot, or upgrade.
    pub fn limit_reason(&self) -> String {
        let upgrade = match self.plan.next() {
            Some(next) => format!(
                "upgrade to the {} plan ({})",
                next.label(),
                next.key_limit().map(|l| format!("{l} keys per domain")).unwrap_or_else(|| "unlimited keys".to_owned())
            ),
            None => "upgrade your plan".to_owned(),
        };
        format!(
            "Your {} plan allows {} keys per domain, and revoked keys count until they are deleted. To create another, delete a key you no longer need, or {}.",
            self.plan.label(),
            self.limit.unwrap_or_default(),
            upgrade
        )
    }
}

/// An audit row as the tab shows it.
pub struct AuditView {
    pub when: String,
    pub exact: String,
    pub actor: String,
    pub action: &'static str,
    pub key_name: String,
    pub key_masked: Option<String>,
    /// "203.0.113.5 · Firefox": short enough for the table.
    pub source: String,
    /// The full User-Agent, for the tooltip.
    pub user_agent: String,
}

impl AuditView {
    pub fn from(event: &audit::AuditEvent, now: DateTime<Utc>) -> Self {
        let action = match event.action.as_str() {
            "create" => "Created",
            "revoke" => "Revoked",
            "restore" => "Restored",
            "delete" => "Deleted",
            "roll" => "Rolled",
            _ => "Changed",
        };
        let client = event.user_agent.as_deref().map(client_name);
        let source = match (&event.source_ip, client) {
            (Some(ip), Some(client)) => format!("{ip} · {client}"),
            (Some(ip), None) => ip.clone(),
            (None, Some(client)) => client.to_owned(),
            (None, None) => "unknown".to_owned(),
        };
        Self {
            when: relative_time(event.at, now),
            exact: exact_time(event.at),
            actor: event.actor_email.clone(),
            action,
            key_name: event.key_name.clone(),
            key_masked: event.key_prefix.as_deref().map(masked),
            source,
            user_agent: event.user_agent.as_deref().unwrap_or_default().chars().take(300).collect(),
        }
    }
}

/// The browser (or tool) an admin action came from, by the usual User-Agent tokens;
/// the order matters, since Edge and Opera also say Chrome and Chrome also says Safari.
fn client_name(user_agent: &str) -> &'static str {
    const CLIENTS: [(&str, &str); 8] = [
        ("Edg/", "Edge"),
        ("OPR/", "Opera"),
        ("Firefox/", "Firefox"),
        ("Chrome/", "Chrome"),
        ("Safari/", "Safari"),
        ("curl/", "curl"),
        ("python-requests/", "Python requests"),
        ("Wget/", "Wget"),
    ];
    CLIENTS.iter().find(|(token, _)| user_agent.contains(token)).map_or("other client", |(_, name)| name)
}

/// Usage insight of one key, ready to show.
pub struct InsightView {
    pub events_7d: i64,
    pub rejected_7d: i64,
    pub integration: &'static str,
    /// (ip, user agent, when)
    pub last_source: Option<(String, String, String)>,
    /// (ip, when), newest first.
    pub ips: Vec<(String, String)>,
    pub spark: Spark,
}

impl InsightView {
    fn from(insight: Option<&KeyInsight>, now: DateTime<Utc>) -> Self {
        let empty = KeyInsight::default();
        let insight = insight.unwrap_or(&empty);
        let last = insight.sources.first();
        Self {
            events_7d: insight.accepted_7d,
            rejected_7d: insight.rejected_7d,
            integration: integration::detect(last.and_then(|s| s.user_agent.as_deref())),
            last_source: last.map(|s| {
                (
                    s.ip.clone(),
                    s.user_agent.clone().unwrap_or_else(|| "no User-Agent".into()),
                    relative_time(s.last_seen_at, now),
                )
            }),
            ips: insight.sources.iter().map(|s| (s.ip.clone(), relative_time(s.last_seen_at, now))).collect(),
            spark: Spark::from_daily(&insight.daily),
        }
    }

    pub fn has_traffic(&self) -> bool {
        self.spark.total > 0
    }

    /// "312 events accepted in the last 7 days, 4 rejected". Accepted counts every 2xx
    /// (duplicates included); rejected ones are said separately so neither reads as a total.
    pub fn week_summary(&self) -> String {
        let events = if self.events_7d == 1 { "1 event".to_owned() } else { format!("{} events", self.events_7d) };
        if self.rejected_7d > 0 {
            format!("{events} accepted in the last 7 days, {} rejected", self.rejected_7d)
        } else {
            format!("{events} accepted in the last 7 days")
        }
    }
}

/// A 14-day bar chart of accepted (bottom) and rejected (top) events, drawn by the
/// template as inline SVG: no chart library, no script.
pub struct Spark {
    pub bars: Vec<Bar>,
    pub width: u32,
    pub height: u32,
    pub total: i64,
    pub label: String,
}

pub struct Bar {
    pub x: u32,
    pub ok_y: u32,
    pub ok_h: u32,
    pub bad_y: u32,
    pub bad_h: u32,
    pub title: String,
}

const BAR_WIDTH: u32 = 5;
const BAR_GAP: u32 = 2;
const SPARK_HEIGHT: u32 = 24;

impl Spark {
    fn from_daily(daily: &[(chrono::NaiveDate, i64, i64)]) -> Self {
        let max = daily.iter().map(|(_, a, r)| a + r).max().unwrap_or(0).max(1);
        let scale = |n: i64| -> u32 {
            if n == 0 {
                0
            } else {
                ((n * i64::from(SPARK_HEIGHT) + max - 1) / max).clamp(1, i64::from(SPARK_HEIGHT)) as u32
            }
        };
        let bars = daily
            .iter()
            .enumerate()
            .map(|(i, (day, accepted, rejected))| {
                let ok_h = scale(*accepted);
                let bad_h = scale(*rejected).min(SPARK_HEIGHT - ok_h);
                Bar {
                    x: i as u32 * (BAR_WIDTH + BAR_GAP),
                    ok_y: SPARK_HEIGHT - ok_h,
                    ok_h,
                    bad_y: SPARK_HEIGHT - ok_h - bad_h,
                    bad_h,
                    title: format!("{}: {accepted} accepted, {rejected} rejected", day.format("%b %-d")),
                }
            })
            .collect::<Vec<_>>();
        let accepted: i64 = daily.iter().map(|(_, a, _)| a).sum();
        let rejected: i64 = daily.iter().map(|(_, _, r)| r).sum();
        Self {
            width: (bars.len() as u32 * (BAR_WIDTH + BAR_GAP)).saturating_sub(BAR_GAP).max(1),
            height: SPARK_HEIGHT,
            bars,
            total: accepted + rejected,
            label: format!("Last 14 days: {accepted} accepted, {rejected} rejected"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn admin_clients_are_named_by_their_distinctive_token() {
        let chrome =
            "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0 Safari/537.36";
        assert_eq!(client_name(chrome), "Chrome");
        assert_eq!(client_name(&format!("{chrome} Edg/131.0")), "Edge");
        assert_eq!(client_name("Mozilla/5.0 (Macintosh) AppleWebKit/605.1.15 Version/17.0 Safari/605.1.15"), "Safari");
        assert_eq!(client_name("Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0"), "Firefox");
        assert_eq!(client_name("curl/8.5.0"), "curl");
        assert_eq!(client_name("something"), "other client");
    }

    #[test]
    fn spark_scales_to_the_busiest_day_and_stacks_rejections() {
        let day = |d: u32| chrono::NaiveDate::from_ymd_opt(2026, 12, d).unwrap();
        let spark = Spark::from_daily(&[(day(1), 0, 0), (day(2), 10, 0), (day(3), 5, 5), (day(4), 1, 0)]);
        assert_eq!(spark.bars.len(), 4);
        assert_eq!(spark.bars[0].ok_h + spark.bars[0].bad_h, 0);
        assert_eq!(spark.bars[1].ok_h, SPARK_HEIGHT);
        assert_eq!(spark.bars[2].ok_h, SPARK_HEIGHT / 2);
        assert_eq!(spark.bars[2].bad_y + spark.bars[2].bad_h, spark.bars[2].ok_y);
        assert!(spark.bars[3].ok_h >= 1, "a small day is still visible");
        assert_eq!(spark.total, 21);
        assert!(spark.label.contains("16 accepted, 5 rejected"));
    }
}
