//! Cron expressions (five fields) — parsed, matched minute by minute (to count the runs a
//! schedule should have made), and turned into systemd `OnCalendar=` — and the user's crontab,
//! edited through `crontab -l` / `crontab -` like a person would.

use chrono::{DateTime, Datelike, Local, Timelike, Utc};

use crate::error::{Error, Result};

/// One parsed expression: the allowed values of each field.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Cron {
    pub text: String,
    minutes: Vec<bool>,
    hours: Vec<bool>,
    days: Vec<bool>,
    months: Vec<bool>,
    weekdays: Vec<bool>,
    /// Cron's rule: when both day fields are restricted, either one matching is enough.
    days_restricted: bool,
    weekdays_restricted: bool,
}

fn field(text: &str, min: u32, max: u32, what: &str) -> Result<Vec<bool>> {
    let bad = || {
        Error::usage(format!("cron field {what} {text:?} is not valid")).with_help(
            "use numbers, `*`, ranges `a-b`, steps `*/n` and lists `a,b`, e.g. \"0 3 * * *\"",
        )
    };
    let mut allowed = vec![false; max as usize + 1];
    for part in text.split(',') {
        let (range, step) = match part.split_once('/') {
            Some((r, s)) => (r, s.parse::<u32>().ok().filter(|s| *s > 0).ok_or_else(bad)?),
            None => (part, 1),
        };
        let (from, to) = if range == "*" {
            (min, max)
        } else if let Some((a, b)) = range.split_once('-') {
            (a.parse().map_err(|_| bad())?, b.parse().map_err(|_| bad())?)
        } else {
            let n: u32 = range.parse().map_err(|_| bad())?;
            // `5/15` means from 5 to the end in steps of 15.
            (n, if part.contains('/') { max } else { n })
        };
        if from < min || to > max || from > to {
            return Err(bad());
        }
        for v in (from..=to).step_by(step as usize) {
            allowed[v as usize] = true;
        }
    }
    Ok(allowed)
}

impl Cron {
    pub fn parse(text: &str) -> Result<Cron> {
        let expanded = match text.trim() {
            "@hourly" => "0 * * * *",
            "@daily" | "@midnight" => "0 0 * * *",
            "@weekly" => "0 0 * * 0",
            "@monthly" => "0 0 1 * *",
            other => other,
        };
        let fields: Vec<&str> = expanded.split_whitespace().collect();
        if fields.len() != 5 {
            return Err(Error::usage(format!(
                "--cron {text:?}: a cron expression has five fields (minute hour day month weekday)"
            ))
            .with_help("e.g. --cron \"0 3 * * *\" for 03:00 every day"));
        }
        let mut weekdays = field(fields[4], 0, 7, "weekday")?;
        // 7 is Sunday too.
        if weekdays[7] {
            weekdays[0] = true;
        }
        weekdays.truncate(7);
        Ok(Cron {
            text: expanded.to_string(),
            minutes: field(fields[0], 0, 59, "minute")?,
            hours: field(fields[1], 0, 23, "hour")?,
            days: field(fields[2], 1, 31, "day")?,
            months: field(fields[3], 1, 12, "month")?,
            weekdays,
            days_restricted: fields[2] != "*",
            weekdays_restricted: fields[4] != "*",
        })
    }

    /// Whether the job runs in the minute of `t` (local time, as cron reads it).
    pub fn matches(&self, t: &DateTime<Local>) -> bool {
        let day = self.days[t.day() as usize];
        let weekday = self.weekdays[t.weekday().num_days_from_sunday() as usize];
        let day_ok = match (self.days_restricted, self.weekdays_restricted) {
            (true, true) => day || weekday,
            _ => day && weekday,
        };
        self.minutes[t.minute() as usize]
            && self.hours[t.hour() as usize]
            && self.months[t.month() as usize]
            && day_ok
    }

    /// How many runs fall after `from` and up to `to` (counting stops at `cap`; at most a
    /// year is looked at).
    pub fn runs_between(&self, from: DateTime<Utc>, to: DateTime<Utc>, cap: u32) -> u32 {
        let start = from.with_timezone(&Local);
        let end = to
            .with_timezone(&Local)
            .min(start + chrono::Duration::days(366));
        // The first whole minute after `from`.
        let mut t = start
            .with_second(0)
            .and_then(|t| t.with_nanosecond(0))
            .unwrap_or(start)
            + chrono::Duration::minutes(1);
        let mut runs = 0;
        while t <= end && runs < cap {
            if self.matches(&t) {
                runs += 1;
            }
            t += chrono::Duration::minutes(1);
        }
        runs
    }

    /// systemd's `OnCalendar=` for the same times, when it can say them.
    pub fn to_on_calendar(&self) -> Result<String> {
        let f: Vec<&str> = self.text.split_whitespace().collect();
        if self.days_restricted && self.weekdays_restricted {
            return Err(Error::usage(format!(
                "--cron {:?} restricts both day and weekday, which systemd timers read differently from cron",
                self.text
            ))
            .with_help("use --with cron, or restrict only one of them"));
        }
        let convert = |field: &str, first: &str| -> Result<String> {
            let parts: Result<Vec<String>> = field
                .split(',')
                .map(|part| {
                    let (range, step) = match part.split_once('/') {
                        Some((r, s)) => (r, Some(s)),
                        None => (part, None),
                    };
                    let range = match range {
                        "*" if step.is_some() => first.to_string(),
                        "*" => "*".to_string(),
                        r if r.contains('-') && step.is_some() => {
                            return Err(Error::usage(format!(
                                "--cron {:?}: a stepped range cannot be a systemd timer",
                                self.text
                            ))
                            .with_help("use --with cron"))
                        }
                        r => r.replace('-', ".."),
                    };
                    Ok(match step {
                        Some(s) => format!("{range}/{s}"),
                        None => range,
                    })
                })
                .collect();
            Ok(parts?.join(","))
        };
        const NAMES: [&str; 8] = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];
        let weekday = if self.weekdays_restricted {
            let names: Vec<&str> = (0..7)
                .filter(|d| self.weekdays[*d])
                .map(|d| NAMES[d])
                .collect();
            format!("{} ", names.join(","))
        } else {
            String::new()
        };
        Ok(format!(
            "{weekday}*-{}-{} {}:{}:00",
            convert(f[3], "1")?,
            convert(f[2], "1")?,
            convert(f[1], "0")?,
            convert(f[0], "0")?
        ))
    }
}

/// The marker line above a project's crontab entry.
pub fn marker(id: &str, project: &str) -> String {
    format!("# dbguard schedule {id}: backup of {project} (`dbguard schedule remove` deletes it)")
}

/// The user's crontab (empty when there is none).
pub fn read_crontab() -> Result<String> {
    let out = std::process::Command::new("crontab")
        .arg("-l")
        .stdin(std::process::Stdio::null())
        .output()
        .map_err(|e| {
            Error::usage(format!("cannot run `crontab -l`: {e}"))
                .with_help("install cron (Debian: `apt-get install cron`), or use --with systemd")
        })?;
    if out.status.success() {
        return Ok(String::from_utf8_lossy(&out.stdout).into_owned());
    }
    let stderr = String::from_utf8_lossy(&out.stderr);
    // "no crontab for USER": an empty one.
    if stderr.contains("no crontab") {
        return Ok(String::new());
    }
    Err(Error::usage(format!(
        "`crontab -l` failed: {}",
        stderr.trim()
    )))
}

pub fn write_crontab(text: &str) -> Result<()> {
    use std::io::Write;
    let mut child = std::process::Command::new("crontab")
        .arg("-")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .map_err(|e| Error::usage(format!("cannot run `crontab -`: {e}")))?;
    child
        .stdin
        .take()
        .expect("piped")
        .write_all(text.as_bytes())
        .map_err(|e| Error::usage(format!("cannot write the crontab: {e}")))?;
    let out = child
        .wait_with_output()
        .map_err(|e| Error::usage(format!("`crontab -` failed: {e}")))?;
    if !out.status.success() {
        return Err(Error::usage(format!(
            "`crontab -` refused the new crontab: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        )));
    }
    Ok(())
}

/// `crontab` without the entry (marker line and the job line after it) of `id`.
pub fn without_entry(crontab: &str, id: &str) -> (String, Option<String>) {
    let prefix = format!("# dbguard schedule {id}:");
    let mut out = String::new();
    let mut removed = None;
    let mut lines = crontab.lines();
    while let Some(line) = lines.next() {
        if line.starts_with(&prefix) {
            removed = lines.next().map(String::from);
            continue;
        }
        out.push_str(line);
        out.push('\n');
    }
    (out, removed)
}

/// The entry (marker and job line) of `id`, if installed.
pub fn find_entry(crontab: &str, id: &str) -> Option<String> {
    let (_, removed) = without_entry(crontab, id);
    removed
}

/// A word for `sh`, quoted; `%` escaped for cron (which otherwise turns it into a newline).
pub fn shell_quote(word: &str) -> String {
    format!("'{}'", word.replace('\'', "'\\''")).replace('%', "\\%")
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn local(y: i32, m: u32, d: u32, h: u32, min: u32) -> DateTime<Local> {
        Local.with_ymd_and_hms(y, m, d, h, min, 0).unwrap()
    }

    #[test]
    fn expressions_match_like_cron() {
        let daily = Cron::parse("0 3 * * *").unwrap();
        assert!(daily.matches(&local(2026, 3, 4, 3, 0)));
        assert!(!daily.matches(&local(2026, 3, 4, 3, 1)));
        let steps = Cron::parse("*/15 9-17 * * 1-5").unwrap();
        assert!(steps.matches(&local(2026, 3, 4, 9, 45))); // a Wednesday
        assert!(!steps.matches(&local(2026, 3, 7, 9, 45))); // a Saturday
                                                            // Day-of-month or weekday when both are restricted.
        let either = Cron::parse("0 0 1 * 0").unwrap();
        assert!(either.matches(&local(2026, 3, 1, 0, 0)));
        assert!(either.matches(&local(2026, 3, 8, 0, 0))); // a Sunday
        assert!(Cron::parse("0 3 * *").is_err());
        assert!(Cron::parse("61 3 * * *").is_err());
        assert_eq!(Cron::parse("@daily").unwrap().text, "0 0 * * *");
    }

    #[test]
    fn runs_are_counted() {
        let hourly = Cron::parse("0 * * * *").unwrap();
        let from = local(2026, 3, 4, 10, 30).with_timezone(&Utc);
        let to = local(2026, 3, 4, 13, 30).with_timezone(&Utc);
        assert_eq!(hourly.runs_between(from, to, 100), 3);
        assert_eq!(hourly.runs_between(from, to, 2), 2);
    }

    #[test]
    fn systemd_calendars() {
        assert_eq!(
            Cron::parse("0 3 * * *").unwrap().to_on_calendar().unwrap(),
            "*-*-* 3:0:00"
        );
        assert_eq!(
            Cron::parse("*/15 * * * 1-5")
                .unwrap()
                .to_on_calendar()
                .unwrap(),
            "Mon,Tue,Wed,Thu,Fri *-*-* *:0/15:00"
        );
        assert!(Cron::parse("0 0 1 * 0").unwrap().to_on_calendar().is_err());
    }

    #[test]
    fn entries_are_found_and_removed_with_their_marker() {
        let tab = format!(
            "MAILTO=me\n{}\n0 3 * * * cd '/p' && dbguard backup --scheduled\n5 * * * * other\n",
            marker("abc", "/p")
        );
        assert!(find_entry(&tab, "abc").unwrap().contains("--scheduled"));
        let (rest, removed) = without_entry(&tab, "abc");
        assert!(removed.is_some());
        assert_eq!(rest, "MAILTO=me\n5 * * * * other\n");
        assert_eq!(shell_quote("it's 100%"), "'it'\\''s 100\\%'");
    }
}
