//! TEMPORARY minimal business calendar (being replaced).
use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Datelike, Duration, LocalResult, NaiveDate, NaiveTime, TimeZone, Utc};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct CalendarSpec {
    pub time_zone: String,
    #[serde(default)]
    pub hours: BTreeMap<String, String>,
    #[serde(default)]
    pub holidays: Vec<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct BusinessCalendar {
    tz: Tz,
    week: [Vec<(NaiveTime, NaiveTime)>; 7],
    holidays: BTreeSet<NaiveDate>,
}

#[derive(Debug, thiserror::Error, PartialEq)]
#[error("{0}")]
pub struct CalendarError(String);

const DAYS: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];

impl CalendarSpec {
    pub fn build(&self) -> Result<BusinessCalendar, Vec<CalendarError>> {
        let mut errors = Vec::new();
        let tz: Option<Tz> = self.time_zone.parse().ok();
        if tz.is_none() {
            errors.push(CalendarError(format!(
                "time_zone: unknown time zone \"{}\"",
                self.time_zone
            )));
        }
        let mut week: [Vec<(NaiveTime, NaiveTime)>; 7] = Default::default();
        for (day, text) in &self.hours {
            let Some(i) = DAYS.iter().position(|d| d == day) else {
                errors.push(CalendarError(format!(
                    "hours.{day}: not a weekday (mon..sun)"
                )));
                continue;
            };
            for part in text.split(',') {
                let parsed = part.trim().split_once('-').and_then(|(a, b)| {
                    Some((
                        NaiveTime::parse_from_str(a.trim(), "%H:%M").ok()?,
                        NaiveTime::parse_from_str(b.trim(), "%H:%M").ok()?,
                    ))
                });
                match parsed {
                    Some((a, b)) if a < b => week[i].push((a, b)),
                    _ => errors.push(CalendarError(format!(
                        "hours.{day}: \"{text}\" is not HH:MM-HH:MM"
                    ))),
                }
            }
        }
        let mut holidays = BTreeSet::new();
        for (i, h) in self.holidays.iter().enumerate() {
            match NaiveDate::parse_from_str(h, "%Y-%m-%d") {
                Ok(d) => {
                    holidays.insert(d);
                }
                Err(_) => errors.push(CalendarError(format!(
                    "holidays[{i}]: \"{h}\" is not a YYYY-MM-DD date"
                ))),
            }
        }
        match tz {
            Some(tz) if errors.is_empty() => Ok(BusinessCalendar { tz, week, holidays }),
            _ => Err(errors),
        }
    }
}

impl BusinessCalendar {
    fn local(&self, d: NaiveDate, t: NaiveTime) -> DateTime<Utc> {
        match self.tz.from_local_datetime(&d.and_time(t)) {
            LocalResult::Single(x) | LocalResult::Ambiguous(x, _) => x.with_timezone(&Utc),
            LocalResult::None => Utc.from_utc_datetime(&(d.and_time(t) - Duration::hours(1))),
        }
    }
    fn intervals(&self, d: NaiveDate) -> Vec<(DateTime<Utc>, DateTime<Utc>)> {
        if self.holidays.contains(&d) {
            return vec![];
        }
        self.week[d.weekday().num_days_from_monday() as usize]
            .iter()
            .map(|(a, b)| (self.local(d, *a), self.local(d, *b)))
            .collect()
    }
    pub fn add_business(&self, start: DateTime<Utc>, duration: Duration) -> DateTime<Utc> {
        let mut left = duration;
        let mut day = start.with_timezone(&self.tz).date_naive();
        for _ in 0..3660 {
            for (a, b) in self.intervals(day) {
                let from = a.max(start);
                if from >= b {
                    continue;
                }
                if from + left <= b {
                    return from + left;
                }
                left -= b - from;
            }
            day = day.succ_opt().unwrap_or(day);
        }
        start + duration
    }
    pub fn business_between(&self, a: DateTime<Utc>, b: DateTime<Utc>) -> Duration {
        let mut total = Duration::zero();
        if b <= a {
            return total;
        }
        let mut day = a.with_timezone(&self.tz).date_naive();
        let last = b.with_timezone(&self.tz).date_naive();
        while day <= last {
            for (x, y) in self.intervals(day) {
                let (f, t) = (x.max(a), y.min(b));
                if f < t {
                    total += t - f;
                }
            }
            day = match day.succ_opt() {
                Some(d) => d,
                None => break,
            };
        }
        total
    }
    pub fn business_minutes_between(&self, a: DateTime<Utc>, b: DateTime<Utc>) -> i64 {
        self.business_between(a, b).num_minutes()
    }
}
