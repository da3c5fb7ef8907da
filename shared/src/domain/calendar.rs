//! A team's business calendar: working hours per weekday in an IANA time zone, and
//! holiday dates. The SLA clock runs only inside working hours, so an MQL at 17:55 on a
//! Friday with a two-hour window is due on Monday morning, not at 19:55.
//!
//! Working hours are local wall-clock intervals, converted to UTC per date, so a DST
//! change shifts them with the zone. A local time that does not exist (the spring-forward
//! gap) is moved one hour later, past the gap; an ambiguous one (fall-back) is the
//! earlier instant.
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
            // Inside a spring-forward gap: the first instant after the gap.
            LocalResult::None => self
                .tz
                .from_local_datetime(&(d.and_time(t) + Duration::hours(1)))
                .earliest()
                .map_or_else(
                    || Utc.from_utc_datetime(&d.and_time(t)),
                    |x| x.with_timezone(&Utc),
                ),
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
    /// The instant when `duration` of working time has passed after `start`. A start
    /// outside working hours begins counting at the next opening; a zero duration
    /// returns `start` unchanged. Walks interval by interval, never minute by minute.
    pub fn add_business(&self, start: DateTime<Utc>, duration: Duration) -> DateTime<Utc> {
        if duration <= Duration::zero() {
            return start;
        }
        let mut left = duration;
        let mut day = start.with_timezone(&self.tz).date_naive();
        // Ten years of days bounds the walk even for a calendar with almost no hours.
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
    /// Working time in `[a, b)`; zero when `b <= a`.
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

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn calendar(zone: &str, holidays: &[&str]) -> BusinessCalendar {
        let hours = ["mon", "tue", "wed", "thu", "fri"]
            .iter()
            .map(|d| (d.to_string(), "09:00-17:00".to_string()))
            .collect();
        CalendarSpec {
            time_zone: zone.into(),
            hours,
            holidays: holidays.iter().map(|h| h.to_string()).collect(),
        }
        .build()
        .unwrap()
    }

    fn utc(y: i32, m: u32, d: u32, h: u32, min: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(y, m, d, h, min, 0).unwrap()
    }

    #[test]
    fn friday_evening_plus_two_hours_is_monday_morning() {
        let ny = calendar("America/New_York", &[]);
        // Fri 2026-11-20 17:55 EST = 22:55Z; due Mon 11:00 EST = 16:00Z.
        let due = ny.add_business(utc(2026, 11, 20, 22, 55), Duration::hours(2));
        assert_eq!(due, utc(2026, 11, 23, 16, 0));
    }

    #[test]
    fn starts_outside_hours_count_from_the_next_opening() {
        let ny = calendar("America/New_York", &[]);
        // Mon 07:00 EST (12:00Z) + 30 min -> 09:30 EST (14:30Z).
        assert_eq!(
            ny.add_business(utc(2026, 11, 23, 12, 0), Duration::minutes(30)),
            utc(2026, 11, 23, 14, 30)
        );
        // Saturday -> Monday 09:30.
        assert_eq!(
            ny.add_business(utc(2026, 11, 21, 15, 0), Duration::minutes(30)),
            utc(2026, 11, 23, 14, 30)
        );
    }

    #[test]
    fn holidays_are_skipped() {
        let ny = calendar("America/New_York", &["2026-11-26"]);
        // Wed 16:00 EST (21:00Z) + 2h: 1h on Wednesday, Thanksgiving off, Friday 10:00 EST.
        assert_eq!(
            ny.add_business(utc(2026, 11, 25, 21, 0), Duration::hours(2)),
            utc(2026, 11, 27, 15, 0)
        );
        assert_eq!(
            ny.business_minutes_between(utc(2026, 11, 25, 21, 0), utc(2026, 11, 27, 15, 0)),
            120
        );
    }

    #[test]
    fn dst_moves_opening_hours_in_utc() {
        let ny = calendar("America/New_York", &[]);
        // Fri 2026-03-06 16:00 EST (21:00Z) + 2h: 1h Friday, then Monday 09:00 EDT = 13:00Z, +1h.
        assert_eq!(
            ny.add_business(utc(2026, 3, 6, 21, 0), Duration::hours(2)),
            utc(2026, 3, 9, 14, 0)
        );
        // Fall back: Fri 2026-10-30 16:00 EDT (20:00Z) -> Mon 2026-11-02 10:00 EST = 15:00Z.
        assert_eq!(
            ny.add_business(utc(2026, 10, 30, 20, 0), Duration::hours(2)),
            utc(2026, 11, 2, 15, 0)
        );
        let london = calendar("Europe/London", &[]);
        // Fri 2026-03-27 16:00 GMT -> Mon 2026-03-30 10:00 BST = 09:00Z.
        assert_eq!(
            london.add_business(utc(2026, 3, 27, 16, 0), Duration::hours(2)),
            utc(2026, 3, 30, 9, 0)
        );
    }

    #[test]
    fn split_days_and_reversed_ranges() {
        let mut hours = BTreeMap::new();
        hours.insert("mon".to_string(), "09:00-12:00,13:00-17:00".to_string());
        let cal = CalendarSpec {
            time_zone: "UTC".into(),
            hours,
            holidays: vec![],
        }
        .build()
        .unwrap();
        assert_eq!(
            cal.add_business(utc(2026, 11, 23, 11, 0), Duration::hours(2)),
            utc(2026, 11, 23, 14, 0)
        );
        assert_eq!(
            cal.business_between(utc(2026, 11, 23, 14, 0), utc(2026, 11, 23, 11, 0)),
            Duration::zero()
        );
    }

    #[test]
    fn a_bad_spec_reports_every_problem() {
        let mut hours = BTreeMap::new();
        hours.insert("mon".to_string(), "9-17".to_string());
        hours.insert("funday".to_string(), "09:00-17:00".to_string());
        let spec = CalendarSpec {
            time_zone: "Mars/Base".into(),
            hours,
            holidays: vec!["2026-13-01".into()],
        };
        let errors: Vec<String> = spec
            .build()
            .unwrap_err()
            .iter()
            .map(|e| e.to_string())
            .collect();
        assert_eq!(errors.len(), 4, "{errors:?}");
        assert!(errors.iter().any(|e| e.starts_with("time_zone:")));
        assert!(errors.iter().any(|e| e.starts_with("hours.mon:")));
        assert!(errors.iter().any(|e| e.starts_with("hours.funday:")));
        assert!(errors.iter().any(|e| e.starts_with("holidays[0]:")));
    }

    proptest! {
        #[test]
        fn business_time_to_add_business_is_exact(
            start_s in 1_767_225_600i64..1_830_297_600, // 2026-01-01 .. 2027-12-31
            minutes in 0i64..(5 * 8 * 60),
            zone in prop::sample::select(vec!["America/New_York", "Europe/Berlin", "Australia/Sydney"]),
        ) {
            let cal = calendar(zone, &["2026-12-25", "2027-01-01", "2026-11-26"]);
            let start = Utc.timestamp_opt(start_s, 0).unwrap();
            let d = Duration::minutes(minutes);
            let end = cal.add_business(start, d);
            prop_assert_eq!(cal.business_between(start, end), d);
            prop_assert!(cal.business_between(start, end) <= end - start);
            if minutes > 0 {
                prop_assert!(cal.business_between(end - Duration::seconds(1), end) == Duration::seconds(1));
            }
        }

        #[test]
        fn add_business_is_monotone(start_s in 1_767_225_600i64..1_830_297_600, a in 0i64..4000, b in 0i64..4000) {
            let cal = calendar("America/New_York", &["2026-11-26"]);
            let start = Utc.timestamp_opt(start_s, 0).unwrap();
            let (lo, hi) = (a.min(b), a.max(b));
            prop_assert!(cal.add_business(start, Duration::minutes(lo)) <= cal.add_business(start, Duration::minutes(hi)));
        }
    }
}
