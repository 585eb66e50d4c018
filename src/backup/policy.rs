//! Which backups retention keeps, and why: the newest `keep`, the newest of each of the last
//! `keep_daily` days, `keep_weekly` ISO weeks and `keep_monthly` months that have a backup,
//! and everything within `keep_within` of the newest backup — restic's `forget` policy. A
//! backup kept by any rule stays, and the newest one is always kept. Pure: times in,
//! decisions out; local and offsite retention both ask it.

use std::time::Duration;

use chrono::{DateTime, Datelike, Local, Utc};

use crate::config::RetentionTiers;
use crate::error::{Error, Result};

/// The day, ISO week or month a time falls in.
type BucketOf = fn(&DateTime<Local>) -> (i32, u32);

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Policy {
    /// The newest N (`keep`).
    pub last: usize,
    pub daily: usize,
    pub weekly: usize,
    pub monthly: usize,
    /// `keep_within`, as written and as a duration.
    pub within: Option<(String, Duration)>,
}

/// Why a backup is kept.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Reason {
    /// The newest backup: never removed.
    Newest,
    Last,
    Daily,
    Weekly,
    Monthly,
    Within(String),
}

impl std::fmt::Display for Reason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Reason::Newest => f.write_str("newest"),
            Reason::Last => f.write_str("last"),
            Reason::Daily => f.write_str("daily"),
            Reason::Weekly => f.write_str("weekly"),
            Reason::Monthly => f.write_str("monthly"),
            Reason::Within(text) => write!(f, "within {text}"),
        }
    }
}

impl Policy {
    /// `keep` plus the tiers of `section` (`[backup]` or `[offsite]`). Without tiers `keep`
    /// defaults to `default_keep`; with tiers, to none beyond the newest (the tiers say what
    /// to keep).
    pub fn new(
        keep: Option<usize>,
        default_keep: usize,
        tiers: &RetentionTiers,
        section: &str,
    ) -> Result<Policy> {
        let has_tiers = tiers.keep_daily.is_some()
            || tiers.keep_weekly.is_some()
            || tiers.keep_monthly.is_some()
            || tiers.keep_within.is_some();
        let last = match keep {
            Some(0) => return Err(Error::usage(format!("[{section}] keep must be at least 1"))),
            Some(n) => n,
            None if has_tiers => 1,
            None => default_keep,
        };
        let within = match &tiers.keep_within {
            Some(text) => {
                let duration = humantime::parse_duration(text).map_err(|e| {
                    Error::usage(format!("[{section}] keep_within = {text:?}: {e}"))
                        .with_help("use a duration like \"7d\", \"30d\" or \"12h\"")
                })?;
                Some((text.clone(), duration))
            }
            None => None,
        };
        Ok(Policy {
            last,
            daily: tiers.keep_daily.unwrap_or(0),
            weekly: tiers.keep_weekly.unwrap_or(0),
            monthly: tiers.keep_monthly.unwrap_or(0),
            within,
        })
    }

    /// Only the newest `n`.
    pub fn last(n: usize) -> Policy {
        Policy {
            last: n.max(1),
            daily: 0,
            weekly: 0,
            monthly: 0,
            within: None,
        }
    }

    /// `keep = 10, keep_daily = 7` as the user wrote it.
    pub fn describe(&self) -> String {
        let mut parts = vec![format!("keep = {}", self.last)];
        for (key, n) in [
            ("keep_daily", self.daily),
            ("keep_weekly", self.weekly),
            ("keep_monthly", self.monthly),
        ] {
            if n > 0 {
                parts.push(format!("{key} = {n}"));
            }
        }
        if let Some((text, _)) = &self.within {
            parts.push(format!("keep_within = {text:?}"));
        }
        parts.join(", ")
    }

    /// For backups taken at `times` (newest first), why each is kept; an empty list means it
    /// goes.
    pub fn decide(&self, times: &[DateTime<Utc>]) -> Vec<Vec<Reason>> {
        let mut reasons: Vec<Vec<Reason>> = vec![Vec::new(); times.len()];
        if times.is_empty() {
            return reasons;
        }
        reasons[0].push(Reason::Newest);
        for r in reasons.iter_mut().take(self.last) {
            r.push(Reason::Last);
        }
        let local: Vec<DateTime<Local>> = times.iter().map(|t| t.with_timezone(&Local)).collect();
        let buckets: [(usize, Reason, BucketOf); 3] = [
            (self.daily, Reason::Daily, |t| (t.year(), t.ordinal())),
            (self.weekly, Reason::Weekly, |t| {
                let week = t.iso_week();
                (week.year(), week.week())
            }),
            (self.monthly, Reason::Monthly, |t| (t.year(), t.month())),
        ];
        for (count, reason, bucket_of) in buckets {
            // Newest first, so the first backup seen in a bucket is its newest.
            let mut last_bucket = None;
            let mut used = 0;
            for (i, t) in local.iter().enumerate() {
                if used == count {
                    break;
                }
                let bucket = bucket_of(t);
                if last_bucket != Some(bucket) {
                    last_bucket = Some(bucket);
                    used += 1;
                    reasons[i].push(reason.clone());
                }
            }
        }
        if let Some((text, within)) = &self.within {
            // Relative to the newest backup, not to now: a schedule that stopped must not age
            // every backup out.
            let newest = times[0];
            for (i, t) in times.iter().enumerate() {
                if (newest - *t).to_std().unwrap_or_default() <= *within {
                    reasons[i].push(Reason::Within(text.clone()));
                }
            }
        }
        reasons
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn at(y: i32, m: u32, d: u32, h: u32) -> DateTime<Utc> {
        Local
            .with_ymd_and_hms(y, m, d, h, 0, 0)
            .unwrap()
            .with_timezone(&Utc)
    }

    fn tiers(daily: usize, weekly: usize, monthly: usize, within: Option<&str>) -> RetentionTiers {
        RetentionTiers {
            keep_daily: (daily > 0).then_some(daily),
            keep_weekly: (weekly > 0).then_some(weekly),
            keep_monthly: (monthly > 0).then_some(monthly),
            keep_within: within.map(String::from),
        }
    }

    fn kept(policy: &Policy, times: &[DateTime<Utc>]) -> Vec<usize> {
        policy
            .decide(times)
            .iter()
            .enumerate()
            .filter(|(_, r)| !r.is_empty())
            .map(|(i, _)| i)
            .collect()
    }

    #[test]
    fn daily_keeps_the_newest_of_each_day() {
        // Two a day for four days, newest first.
        let times = [
            at(2026, 3, 4, 18),
            at(2026, 3, 4, 6),
            at(2026, 3, 3, 18),
            at(2026, 3, 3, 6),
            at(2026, 3, 2, 18),
            at(2026, 3, 2, 6),
            at(2026, 3, 1, 18),
        ];
        let policy = Policy::new(None, 10, &tiers(3, 0, 0, None), "backup").unwrap();
        assert_eq!(kept(&policy, &times), [0, 2, 4]);
        let reasons = policy.decide(&times);
        assert_eq!(reasons[0], [Reason::Newest, Reason::Last, Reason::Daily]);
        assert_eq!(reasons[2], [Reason::Daily]);
    }

    #[test]
    fn weekly_and_monthly_buckets() {
        // Mondays of ISO weeks 10..=13 of 2026, and the first of earlier months.
        let times = [
            at(2026, 3, 23, 3),
            at(2026, 3, 16, 3),
            at(2026, 3, 9, 3),
            at(2026, 3, 2, 3),
            at(2026, 2, 1, 3),
            at(2026, 1, 1, 3),
            at(2025, 12, 1, 3),
        ];
        let weekly = Policy::new(None, 10, &tiers(0, 2, 0, None), "backup").unwrap();
        assert_eq!(kept(&weekly, &times), [0, 1]);
        let monthly = Policy::new(None, 10, &tiers(0, 0, 3, None), "backup").unwrap();
        // March's newest, February's, January's.
        assert_eq!(kept(&monthly, &times), [0, 4, 5]);
        let both = Policy::new(Some(1), 10, &tiers(0, 2, 3, None), "backup").unwrap();
        assert_eq!(kept(&both, &times), [0, 1, 4, 5]);
    }

    #[test]
    fn within_counts_from_the_newest_backup() {
        let times = [at(2026, 3, 20, 0), at(2026, 3, 15, 0), at(2026, 2, 1, 0)];
        let policy = Policy::new(None, 10, &tiers(0, 0, 0, Some("7d")), "backup").unwrap();
        assert_eq!(kept(&policy, &times), [0, 1]);
        assert_eq!(policy.decide(&times)[1], [Reason::Within("7d".into())]);
    }

    #[test]
    fn keep_alone_is_last_n_and_defaults() {
        let times = [at(2026, 3, 3, 0), at(2026, 3, 2, 0), at(2026, 3, 1, 0)];
        let policy = Policy::new(Some(2), 10, &RetentionTiers::default(), "backup").unwrap();
        assert_eq!(kept(&policy, &times), [0, 1]);
        let default = Policy::new(None, 10, &RetentionTiers::default(), "backup").unwrap();
        assert_eq!(default.last, 10);
        assert!(Policy::new(Some(0), 10, &RetentionTiers::default(), "backup").is_err());
        assert!(Policy::new(None, 10, &tiers(0, 0, 0, Some("soon")), "backup").is_err());
        assert!(Policy::last(3).decide(&[]).is_empty());
    }
}
