//! A team's business calendar and the business-time clock the SLA runs on.
//!
//! SLA windows are promised in *business* time ("accept within 60 working minutes"), so the
//! watchdog has to add business time to an instant and measure business time between two
//! instants. Both are pure functions of their arguments: nothing here reads the clock.
//!
//! # Rules
//!
//! * **Working hours are local wall-clock intervals per date.** `mon = "09:00-17:00"` means
//!   09:00 to 17:00 on the clock in the calendar's IANA zone, on every Monday that is not a
//!   holiday. Each interval is half-open, `[open, close)`, and `24:00` may close a day.
//! * **Local times are turned into instants with one fixed rule**, so that every function
//!   sees the same working intervals:
//!   * a local time that does not exist (the spring-forward gap) means the first instant
//!     after the gap, e.g. 02:30 on 2026-03-08 in New York is 03:00 EDT (07:00Z);
//!   * a local time that happens twice (the fall-back overlap) means the earlier instant,
//!     e.g. 01:30 on 2026-11-01 in New York is 01:30 EDT (05:30Z).
//!
//!   So a 09:00-17:00 day lasts 8 hours even on a DST-change date, while an interval that the
//!   jump falls inside lasts the time that really elapsed (00:00-24:00 is 23 h or 25 h).
//! * **Holidays are whole local dates** with no working hours.
//! * **Durations of zero or less** added to an instant return that instant unchanged, even
//!   outside working hours: "no business time has to pass" is already true at `start`.
//! * **A start outside working hours** begins counting at the next opening.
//! * **Precision is exact.** Instants keep their sub-second parts and no rounding happens;
//!   working intervals are whole minutes (whole seconds around historical transitions).
//! * **The clock looks at most [`HORIZON_DAYS`] ahead** (ten years). A calendar must have
//!   working hours on some weekday, but its holidays could still cover every one of them;
//!   rather than loop without end, [`BusinessCalendar::add_business`] then returns
//!   `start + HORIZON_DAYS`.
//!
//! # Cost
//!
//! The clock walks working intervals day by day, never minute by minute: adding two hours
//! looks at a handful of intervals. [`BusinessCalendar::business_between`] is linear in the
//! number of local days between its arguments.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use chrono::{
    DateTime, Datelike, Duration, LocalResult, NaiveDate, NaiveDateTime, NaiveTime, Offset,
    TimeZone, Utc,
};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};

/// How many days ahead [`BusinessCalendar::add_business`] may look before it gives up.
/// Ten years is far beyond any SLA window and still bounds the walk to a few thousand days.
pub const HORIZON_DAYS: i64 = 3653;

/// The keys of `hours`, in `Weekday::num_days_from_monday` order.
const DAY_KEYS: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];

/// Minutes in a day; the only valid closing time past 23:59 is `24:00`.
const DAY_MINUTES: u16 = 24 * 60;

/// Offsets stay within ±24 h, so within 26 h of a local time's digits as UTC lies every
/// instant that could show that local time.
const OFFSET_BOUND_SECONDS: i64 = 26 * 3600;

/// A calendar as written in the contract TOML, before validation:
///
/// ```toml
/// [calendars.na]
/// time_zone = "America/New_York"
/// holidays = ["2026-11-26", "2026-12-25"]
/// [calendars.na.hours]
/// mon = "09:00-17:00"               # or "09:00-12:00,13:00-17:00"
/// sat = "closed"                    # a missing weekday is closed too
/// ```
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct CalendarSpec {
    pub time_zone: String,
    #[serde(default)]
    pub hours: BTreeMap<String, String>,
    #[serde(default)]
    pub holidays: Vec<String>,
}

/// A validated calendar; only [`CalendarSpec::build`] makes one, so every instance has a
/// real time zone and well-formed, sorted, non-overlapping hours.
#[derive(Debug, Clone, PartialEq)]
pub struct BusinessCalendar {
    tz: Tz,
    /// Working intervals per weekday (Monday first), sorted and disjoint; touching
    /// intervals are merged so that the week has one canonical form.
    week: [Vec<Span>; 7],
    holidays: BTreeSet<NaiveDate>,
}

/// One problem in a [`CalendarSpec`]. The message starts with the key path inside the
/// calendar, so the contract can prefix `calendars.<name>.` and point at the exact line.
#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
pub enum CalendarError {
    #[error("time_zone: unknown time zone {0:?}")]
    UnknownTimeZone(String),
    #[error("hours.{key}: not a weekday (mon..sun)")]
    NotAWeekday { key: String },
    #[error("hours.{day}: {text:?} is not HH:MM-HH:MM")]
    BadInterval { day: String, text: String },
    #[error("hours.{day}: interval {interval} ends before it starts")]
    EndsBeforeStart { day: String, interval: String },
    #[error("hours.{day}: interval {interval} is empty")]
    EmptyInterval { day: String, interval: String },
    #[error("hours.{day}: intervals overlap ({first} and {second})")]
    Overlap {
        day: String,
        first: String,
        second: String,
    },
    #[error("hours: no working hours on any day")]
    NoWorkingHours,
    #[error("holidays[{index}]: {text:?} is not a YYYY-MM-DD date")]
    BadHoliday { index: usize, text: String },
    #[error("holidays[{index}]: {date} is already listed at holidays[{first}]")]
    DuplicateHoliday {
        index: usize,
        first: usize,
        date: NaiveDate,
    },
}

/// A working interval in minutes after local midnight; minutes keep the week small and
/// let `24:00` close a day, which `NaiveTime` cannot say.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Span {
    open: u16,
    close: u16,
}

impl fmt::Display for Span {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let hhmm = |m: u16| format!("{:02}:{:02}", m / 60, m % 60);
        write!(f, "{}-{}", hhmm(self.open), hhmm(self.close))
    }
}

impl CalendarSpec {
    /// Validates the spec and builds the calendar. Every problem is reported, not just the
    /// first, so that one edit of the contract can fix them all.
    pub fn build(&self) -> Result<BusinessCalendar, Vec<CalendarError>> {
        let mut errors = Vec::new();

        let tz = self.time_zone.parse::<Tz>().ok();
        if tz.is_none() {
            errors.push(CalendarError::UnknownTimeZone(self.time_zone.clone()));
        }

        let mut week: [Vec<Span>; 7] = Default::default();
        let mut hours_ok = true;
        for (key, text) in &self.hours {
            let before = errors.len();
            match DAY_KEYS.iter().position(|d| d == key) {
                Some(i) => week[i] = parse_day(key, text, &mut errors),
                None => errors.push(CalendarError::NotAWeekday { key: key.clone() }),
            }
            hours_ok &= errors.len() == before;
        }
        // With a broken day the author surely meant some hours; "no hours at all" would
        // only be noise next to the real problem.
        if hours_ok && week.iter().all(Vec::is_empty) {
            errors.push(CalendarError::NoWorkingHours);
        }

        let mut holidays = BTreeMap::new();
        for (index, text) in self.holidays.iter().enumerate() {
            match parse_date(text) {
                Some(date) => {
                    if let Some(&first) = holidays.get(&date) {
                        errors.push(CalendarError::DuplicateHoliday { index, first, date });
                    } else {
                        holidays.insert(date, index);
                    }
                }
                None => errors.push(CalendarError::BadHoliday {
                    index,
                    text: text.clone(),
                }),
            }
        }

        match tz {
            Some(tz) if errors.is_empty() => Ok(BusinessCalendar {
                tz,
                week,
                holidays: holidays.into_keys().collect(),
            }),
            _ => Err(errors),
        }
    }
}

/// Parses one weekday's value: `closed`, or comma-separated `HH:MM-HH:MM` intervals.
fn parse_day(day: &str, text: &str, errors: &mut Vec<CalendarError>) -> Vec<Span> {
    let text = text.trim();
    if text.eq_ignore_ascii_case("closed") {
        return Vec::new();
    }
    let mut spans = Vec::new();
    for part in text.split(',').map(str::trim) {
        let parsed = part
            .split_once('-')
            .and_then(|(a, b)| Some((parse_hhmm(a.trim())?, parse_hhmm(b.trim())?)));
        let Some((open, close)) = parsed else {
            errors.push(CalendarError::BadInterval {
                day: day.to_owned(),
                text: part.to_owned(),
            });
            continue;
        };
        let span = Span { open, close };
        if close < open {
            errors.push(CalendarError::EndsBeforeStart {
                day: day.to_owned(),
                interval: span.to_string(),
            });
        } else if close == open {
            errors.push(CalendarError::EmptyInterval {
                day: day.to_owned(),
                interval: span.to_string(),
            });
        } else {
            spans.push(span);
        }
    }
    spans.sort_by_key(|s| (s.open, s.close));
    let mut merged: Vec<Span> = Vec::with_capacity(spans.len());
    for span in spans {
        match merged.last_mut() {
            Some(last) if span.open < last.close => {
                errors.push(CalendarError::Overlap {
                    day: day.to_owned(),
                    first: last.to_string(),
                    second: span.to_string(),
                });
                last.close = last.close.max(span.close);
            }
            // 09:00-12:00,12:00-17:00 is one stretch of work; merging keeps one form per week.
            Some(last) if span.open == last.close => last.close = span.close,
            _ => merged.push(span),
        }
    }
    merged
}

/// Strict `HH:MM` (two digits each) to minutes after midnight; `24:00` is the end of the day.
/// Strict because "9-17" or "9:0" in a contract is more likely a typo than a convention.
fn parse_hhmm(s: &str) -> Option<u16> {
    let b = s.as_bytes();
    if b.len() != 5 || b[2] != b':' {
        return None;
    }
    let digit = |c: u8| c.is_ascii_digit().then(|| u16::from(c - b'0'));
    let hour = digit(b[0])? * 10 + digit(b[1])?;
    let minute = digit(b[3])? * 10 + digit(b[4])?;
    match (hour, minute) {
        (0..=23, 0..=59) => Some(hour * 60 + minute),
        (24, 0) => Some(DAY_MINUTES),
        _ => None,
    }
}

/// Strict `YYYY-MM-DD`; chrono alone would also take "2026-1-5".
fn parse_date(s: &str) -> Option<NaiveDate> {
    let b = s.as_bytes();
    let shape_ok = b.len() == 10
        && b.iter().enumerate().all(|(i, &c)| {
            if i == 4 || i == 7 {
                c == b'-'
            } else {
                c.is_ascii_digit()
            }
        });
    if !shape_ok {
        return None;
    }
    NaiveDate::parse_from_str(s, "%Y-%m-%d").ok()
}

impl BusinessCalendar {
    pub fn time_zone(&self) -> Tz {
        self.tz
    }

    /// Is `date` (a local date in the calendar's zone) a listed holiday?
    pub fn is_holiday(&self, date: NaiveDate) -> bool {
        self.holidays.contains(&date)
    }

    /// Is `at` inside working time? Intervals are half-open: open at 09:00, closed at 17:00.
    pub fn is_open(&self, at: DateTime<Utc>) -> bool {
        self.intervals_around(at, at)
            .take_while(|&(open, _)| open <= at)
            .any(|(_, close)| at < close)
    }

    /// When business time next runs: `at` itself when open, else the next opening.
    /// `None` when nothing opens within [`HORIZON_DAYS`] (holidays cover every working day).
    pub fn next_opening(&self, at: DateTime<Utc>) -> Option<DateTime<Utc>> {
        let horizon = horizon_after(at);
        self.intervals_around(at, horizon)
            .take_while(|&(open, _)| open < horizon)
            .find(|&(_, close)| at < close)
            .map(|(open, _)| open.max(at))
    }

    /// The instant when `duration` of business time has elapsed after `start`.
    ///
    /// A start outside working hours begins counting at the next opening; a duration that
    /// ends exactly at a closing returns the closing, not the next opening, because that is
    /// when the time ran out. A zero or negative duration returns `start` unchanged. If the
    /// time has not elapsed within [`HORIZON_DAYS`], the result saturates at
    /// `start + HORIZON_DAYS` (which keeps the function monotone in `duration`).
    pub fn add_business(&self, start: DateTime<Utc>, duration: Duration) -> DateTime<Utc> {
        if duration <= Duration::zero() {
            return start;
        }
        let horizon = horizon_after(start);
        let mut left = duration;
        for (open, close) in self.intervals_around(start, horizon) {
            if open >= horizon {
                break;
            }
            let from = open.max(start);
            let to = close.min(horizon);
            if from >= to {
                continue;
            }
            let available = to - from;
            if left <= available {
                return from + left;
            }
            left -= available;
        }
        horizon
    }

    /// Business time in `[a, b)`; zero, never negative, when `b <= a`. Exact to the
    /// nanosecond, so `business_between(s, add_business(s, d)) == d` within the horizon.
    pub fn business_between(&self, a: DateTime<Utc>, b: DateTime<Utc>) -> Duration {
        let mut total = Duration::zero();
        if b <= a {
            return total;
        }
        for (open, close) in self.intervals_around(a, b) {
            if open >= b {
                break;
            }
            let (from, to) = (open.max(a), close.min(b));
            if from < to {
                total += to - from;
            }
        }
        total
    }

    /// [`Self::business_between`] in whole minutes, rounded down, for reports.
    pub fn business_minutes_between(&self, a: DateTime<Utc>, b: DateTime<Utc>) -> i64 {
        self.business_between(a, b).num_minutes()
    }

    /// Working intervals, as instants in order, of every local date that can touch
    /// `[from, to]`. One day of margin each side covers an interval that a DST rule or a
    /// `24:00` close carries past its own date's midnight.
    fn intervals_around(&self, from: DateTime<Utc>, to: DateTime<Utc>) -> Intervals<'_> {
        let first = self.local_date(from);
        let last = self.local_date(to);
        Intervals {
            cal: self,
            date: first.pred_opt().unwrap_or(first),
            last: last.succ_opt().unwrap_or(last),
            index: 0,
            floor: None,
            done: false,
        }
    }

    fn local_date(&self, at: DateTime<Utc>) -> NaiveDate {
        at.with_timezone(&self.tz).date_naive()
    }

    fn spans_on(&self, date: NaiveDate) -> &[Span] {
        if self.holidays.contains(&date) {
            &[]
        } else {
            &self.week[date.weekday().num_days_from_monday() as usize]
        }
    }

    /// The instant of `minute` after local midnight of `date`, by the module's DST rule.
    /// `None` only past the end of chrono's calendar.
    fn instant(&self, date: NaiveDate, minute: u16) -> Option<DateTime<Utc>> {
        let local = date
            .and_time(NaiveTime::MIN)
            .checked_add_signed(Duration::minutes(i64::from(minute)))?;
        match self.tz.from_local_datetime(&local) {
            LocalResult::Single(t) => Some(t.with_timezone(&Utc)),
            LocalResult::Ambiguous(a, b) => Some(a.min(b).with_timezone(&Utc)),
            LocalResult::None => self.end_of_gap(local),
        }
    }

    /// The first instant whose wall clock reads `local` or later: for a time inside a
    /// spring-forward gap, the instant the clocks jumped. chrono-tz does not expose its
    /// transitions, so this bisects whole seconds; it runs only for times inside a gap.
    fn end_of_gap(&self, local: NaiveDateTime) -> Option<DateTime<Utc>> {
        let target = local.and_utc().timestamp();
        let wall = |second: i64| -> Option<i64> {
            let utc = DateTime::<Utc>::from_timestamp(second, 0)?;
            let offset = self.tz.offset_from_utc_datetime(&utc.naive_utc()).fix();
            Some(second + i64::from(offset.local_minus_utc()))
        };
        // Invariant: wall(lo) < target <= wall(hi).
        let (mut lo, mut hi) = (target - OFFSET_BOUND_SECONDS, target + OFFSET_BOUND_SECONDS);
        while hi - lo > 1 {
            let mid = lo + (hi - lo) / 2;
            if wall(mid)? >= target {
                hi = mid;
            } else {
                lo = mid;
            }
        }
        DateTime::from_timestamp(hi, 0)
    }
}

/// `at + HORIZON_DAYS`, or the end of time when that does not exist.
fn horizon_after(at: DateTime<Utc>) -> DateTime<Utc> {
    at.checked_add_signed(Duration::days(HORIZON_DAYS))
        .unwrap_or(DateTime::<Utc>::MAX_UTC)
}

/// Walks the working intervals of the dates `date..=last` as UTC instants, in order,
/// skipping empty ones. Each interval starts no earlier than the previous one closed:
/// the DST rule keeps the mapping from local to UTC monotone, and this clamp makes sure
/// that adding and measuring never count one instant twice even in an odd historical zone.
struct Intervals<'a> {
    cal: &'a BusinessCalendar,
    date: NaiveDate,
    last: NaiveDate,
    index: usize,
    floor: Option<DateTime<Utc>>,
    done: bool,
}

impl Iterator for Intervals<'_> {
    type Item = (DateTime<Utc>, DateTime<Utc>);

    fn next(&mut self) -> Option<Self::Item> {
        while !self.done {
            if let Some(span) = self.cal.spans_on(self.date).get(self.index) {
                self.index += 1;
                let open = self.cal.instant(self.date, span.open);
                let close = self.cal.instant(self.date, span.close);
                if let (Some(open), Some(close)) = (open, close) {
                    let open = self.floor.map_or(open, |floor| open.max(floor));
                    if open < close {
                        self.floor = Some(close);
                        return Some((open, close));
                    }
                }
                continue;
            }
            match self.date.succ_opt() {
                Some(next) if self.date < self.last => {
                    self.date = next;
                    self.index = 0;
                }
                _ => self.done = true,
            }
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn spec(tz: &str, hours: &[(&str, &str)], holidays: &[&str]) -> CalendarSpec {
        CalendarSpec {
            time_zone: tz.to_owned(),
            hours: hours
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect(),
            holidays: holidays.iter().map(|h| (*h).to_owned()).collect(),
        }
    }

    fn cal(tz: &str, hours: &[(&str, &str)], holidays: &[&str]) -> BusinessCalendar {
        spec(tz, hours, holidays).build().unwrap()
    }

    fn weekdays(hours: &str) -> Vec<(&'static str, &str)> {
        ["mon", "tue", "wed", "thu", "fri"]
            .into_iter()
            .map(|d| (d, hours))
            .collect()
    }

    fn new_york() -> BusinessCalendar {
        cal("America/New_York", &weekdays("09:00-17:00"), &[])
    }

    fn utc(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    fn h(hours: i64) -> Duration {
        Duration::hours(hours)
    }

    fn build_errors(s: &CalendarSpec) -> Vec<String> {
        s.build()
            .unwrap_err()
            .iter()
            .map(ToString::to_string)
            .collect()
    }

    // ---- adding business time -------------------------------------------------------

    #[test]
    fn friday_evening_plus_two_hours_lands_on_monday() {
        let c = new_york();
        // Fri 2026-06-12 16:55 EDT = 20:55Z: 5 min on Friday, 1 h 55 min from Monday
        // 2026-06-15 09:00 EDT (13:00Z) -> 10:55 EDT = 14:55Z.
        assert_eq!(
            c.add_business(utc("2026-06-12T20:55:00Z"), h(2)),
            utc("2026-06-15T14:55:00Z")
        );
        // Fri 17:55 EDT = 21:55Z is after the 17:00 close, so all 2 h are Monday's:
        // 09:00 EDT + 2 h = 11:00 EDT = 15:00Z.
        assert_eq!(
            c.add_business(utc("2026-06-12T21:55:00Z"), h(2)),
            utc("2026-06-15T15:00:00Z")
        );
        // With a 09:00-18:00 day, Fri 17:55 EDT (21:55Z) has 5 min left: Monday 10:55 EDT
        // = 14:55Z.
        let long_days = cal("America/New_York", &weekdays("09:00-18:00"), &[]);
        assert_eq!(
            long_days.add_business(utc("2026-06-12T21:55:00Z"), h(2)),
            utc("2026-06-15T14:55:00Z")
        );
    }

    #[test]
    fn a_start_before_opening_or_on_a_weekend_counts_from_the_next_opening() {
        let c = new_york();
        // Tue 2026-06-16 07:00 EDT = 11:00Z; counting starts 09:00 EDT, so +1 h = 10:00 EDT
        // = 14:00Z.
        assert_eq!(
            c.add_business(utc("2026-06-16T11:00:00Z"), h(1)),
            utc("2026-06-16T14:00:00Z")
        );
        // Sat 2026-06-13 12:00 EDT = 16:00Z; Monday 09:00 EDT + 1 h 30 = 10:30 EDT = 14:30Z.
        assert_eq!(
            c.add_business(utc("2026-06-13T16:00:00Z"), Duration::minutes(90)),
            utc("2026-06-15T14:30:00Z")
        );
        assert_eq!(
            c.next_opening(utc("2026-06-13T16:00:00Z")),
            Some(utc("2026-06-15T13:00:00Z"))
        );
        assert_eq!(
            c.next_opening(utc("2026-06-15T13:30:00Z")),
            Some(utc("2026-06-15T13:30:00Z"))
        );
    }

    #[test]
    fn time_running_out_at_a_closing_returns_the_closing() {
        let c = new_york();
        // Fri 2026-06-12 16:00 EDT = 20:00Z + 1 h = 17:00 EDT = 21:00Z, not Monday 09:00.
        assert_eq!(
            c.add_business(utc("2026-06-12T20:00:00Z"), h(1)),
            utc("2026-06-12T21:00:00Z")
        );
    }

    #[test]
    fn zero_or_negative_duration_returns_start_unchanged() {
        let c = new_york();
        let saturday = utc("2026-06-13T16:00:00Z");
        assert_eq!(c.add_business(saturday, Duration::zero()), saturday);
        assert_eq!(c.add_business(saturday, h(-3)), saturday);
        let open = utc("2026-06-15T14:00:00Z");
        assert_eq!(c.add_business(open, Duration::zero()), open);
    }

    #[test]
    fn holidays_are_skipped() {
        let c = cal(
            "America/New_York",
            &weekdays("09:00-17:00"),
            &["2026-11-26", "2026-12-25"],
        );
        // Wed 2026-11-25 16:00 EST = 21:00Z: 1 h on Wednesday, Thanksgiving skipped, 1 h on
        // Fri 2026-11-27 from 09:00 EST -> 10:00 EST = 15:00Z.
        assert_eq!(
            c.add_business(utc("2026-11-25T21:00:00Z"), h(2)),
            utc("2026-11-27T15:00:00Z")
        );
        // Without the holiday it would be Thursday 10:00 EST.
        assert_eq!(
            new_york().add_business(utc("2026-11-25T21:00:00Z"), h(2)),
            utc("2026-11-26T15:00:00Z")
        );
        assert!(c.is_holiday(NaiveDate::from_ymd_opt(2026, 11, 26).unwrap()));
        assert!(!c.is_open(utc("2026-11-26T15:00:00Z")));
    }

    #[test]
    fn us_dst_changes_over_a_weekend() {
        let c = new_york();
        // Spring forward on Sun 2026-03-08. Fri 2026-03-06 16:00 EST = 21:00Z: 1 h Friday,
        // then Mon 2026-03-09 09:00 EDT = 13:00Z + 2 h = 11:00 EDT = 15:00Z.
        assert_eq!(
            c.add_business(utc("2026-03-06T21:00:00Z"), h(3)),
            utc("2026-03-09T15:00:00Z")
        );
        // Local 09:00 is 14:00Z in winter and 13:00Z in summer.
        assert_eq!(
            c.next_opening(utc("2026-02-28T12:00:00Z")),
            Some(utc("2026-03-02T14:00:00Z"))
        );
        assert_eq!(
            c.next_opening(utc("2026-03-07T12:00:00Z")),
            Some(utc("2026-03-09T13:00:00Z"))
        );
        // Fall back on Sun 2026-11-01. Fri 2026-10-30 16:00 EDT = 20:00Z: 1 h Friday, then
        // Mon 2026-11-02 09:00 EST = 14:00Z + 2 h = 11:00 EST = 16:00Z.
        assert_eq!(
            c.add_business(utc("2026-10-30T20:00:00Z"), h(3)),
            utc("2026-11-02T16:00:00Z")
        );
        assert_eq!(
            c.business_between(utc("2026-10-30T20:00:00Z"), utc("2026-11-02T16:00:00Z")),
            h(3)
        );
        // A full week across the change is still 5 x 8 h.
        assert_eq!(
            c.business_between(utc("2026-03-02T00:00:00Z"), utc("2026-03-14T00:00:00Z")),
            h(80)
        );
    }

    #[test]
    fn london_dst_changes_over_a_weekend() {
        let c = cal("Europe/London", &weekdays("09:00-17:00"), &[]);
        // BST starts Sun 2026-03-29. Fri 2026-03-27 16:00 GMT = 16:00Z: 1 h Friday, then
        // Mon 2026-03-30 09:00 BST = 08:00Z + 2 h = 11:00 BST = 10:00Z.
        assert_eq!(
            c.add_business(utc("2026-03-27T16:00:00Z"), h(3)),
            utc("2026-03-30T10:00:00Z")
        );
        // BST ends Sun 2026-10-25. Fri 2026-10-23 16:00 BST = 15:00Z: 1 h Friday, then
        // Mon 2026-10-26 09:00 GMT = 09:00Z + 2 h = 11:00Z.
        assert_eq!(
            c.add_business(utc("2026-10-23T15:00:00Z"), h(3)),
            utc("2026-10-26T11:00:00Z")
        );
    }

    #[test]
    fn an_interval_the_clocks_jump_inside_lasts_the_real_elapsed_time() {
        let sundays = |hours: &str| cal("America/New_York", &[("sun", hours)], &[]);
        let around = |c: &BusinessCalendar, day: &str| {
            let noon = utc(&format!("{day}T12:00:00Z"));
            c.business_between(noon - h(36), noon + h(36))
        };
        // 2026-03-08 has 23 hours, 2026-11-01 has 25.
        assert_eq!(around(&sundays("00:00-24:00"), "2026-03-08"), h(23));
        assert_eq!(around(&sundays("00:00-24:00"), "2026-11-01"), h(25));
        // Nonexistent 02:30 is the first instant after the gap (03:00 EDT = 07:00Z), so
        // 01:30-02:30 is 06:30Z-07:00Z, and an interval inside the gap is empty.
        let half = sundays("01:30-02:30");
        assert_eq!(around(&half, "2026-03-08"), Duration::minutes(30));
        assert!(half.is_open(utc("2026-03-08T06:59:59Z")));
        assert!(!half.is_open(utc("2026-03-08T07:00:00Z")));
        assert_eq!(
            around(&sundays("02:10-02:50"), "2026-03-08"),
            Duration::zero()
        );
        // Ambiguous 01:00 is the earlier instant (01:00 EDT = 05:00Z); 02:00 is EST (07:00Z).
        assert_eq!(around(&sundays("01:00-02:00"), "2026-11-01"), h(2));
        let early = sundays("01:15-01:45");
        assert_eq!(around(&early, "2026-11-01"), Duration::minutes(30));
        assert!(early.is_open(utc("2026-11-01T05:15:00Z")));
        assert!(!early.is_open(utc("2026-11-01T06:15:00Z")));
        // The 8-hour day is still 8 hours on a change date.
        assert_eq!(around(&sundays("09:00-17:00"), "2026-03-08"), h(8));
        assert_eq!(around(&sundays("09:00-17:00"), "2026-11-01"), h(8));
    }

    #[test]
    fn a_split_day_has_a_lunch_break() {
        let c = cal(
            "America/New_York",
            &weekdays("09:00-12:00,13:00-17:00"),
            &[],
        );
        // Tue 2026-06-16 11:30 EDT = 15:30Z: 30 min before lunch, 30 min after 13:00 EDT ->
        // 13:30 EDT = 17:30Z.
        assert_eq!(
            c.add_business(utc("2026-06-16T15:30:00Z"), h(1)),
            utc("2026-06-16T17:30:00Z")
        );
        assert!(c.is_open(utc("2026-06-16T15:59:59Z")));
        assert!(!c.is_open(utc("2026-06-16T16:00:00Z")));
        assert!(!c.is_open(utc("2026-06-16T16:30:00Z")));
        assert!(c.is_open(utc("2026-06-16T17:00:00Z")));
        assert_eq!(
            c.business_between(utc("2026-06-16T13:00:00Z"), utc("2026-06-16T21:00:00Z")),
            h(7)
        );
    }

    #[test]
    fn business_between_skips_weekends_and_holidays_and_is_never_negative() {
        let c = cal(
            "America/New_York",
            &weekdays("09:00-17:00"),
            &["2026-11-26"],
        );
        // Wed 2026-11-25 12:00 EST (17:00Z) to Mon 2026-11-30 12:00 EST (17:00Z):
        // Wed 5 h + Thu holiday + Fri 8 h + weekend + Mon 3 h = 16 h.
        let (a, b) = (utc("2026-11-25T17:00:00Z"), utc("2026-11-30T17:00:00Z"));
        assert_eq!(c.business_between(a, b), h(16));
        assert_eq!(c.business_minutes_between(a, b), 16 * 60);
        assert_eq!(c.business_between(b, a), Duration::zero());
        assert_eq!(c.business_between(a, a), Duration::zero());
        assert_eq!(c.business_minutes_between(b, a), 0);
    }

    #[test]
    fn sub_second_parts_are_kept_and_measured_exactly() {
        let c = new_york();
        let start = utc("2026-06-15T13:00:00.250Z");
        assert_eq!(
            c.add_business(start, Duration::seconds(1)),
            utc("2026-06-15T13:00:01.250Z")
        );
        assert_eq!(
            c.business_between(start, utc("2026-06-15T13:00:01.750Z")),
            Duration::milliseconds(1500)
        );
        // 59.9 s is 0 whole minutes.
        assert_eq!(
            c.business_minutes_between(start, utc("2026-06-15T13:01:00.150Z")),
            0
        );
        // Before opening, the fraction of the start is not carried: counting starts at 09:00.
        assert_eq!(
            c.add_business(utc("2026-06-15T12:00:00.250Z"), h(1)),
            utc("2026-06-15T14:00:00Z")
        );
    }

    #[test]
    fn twenty_four_hour_days_run_across_midnight() {
        let all_week: Vec<_> = DAY_KEYS.iter().map(|d| (*d, "00:00-24:00")).collect();
        let c = cal("Asia/Tokyo", &all_week, &[]);
        let start = utc("2026-06-15T10:00:00Z");
        assert_eq!(c.add_business(start, h(50)), start + h(50));
        assert_eq!(c.business_between(start, start + h(50)), h(50));
        assert!(c.is_open(utc("2026-06-15T15:00:00Z"))); // local midnight
    }

    #[test]
    fn an_all_holiday_future_saturates_at_the_horizon() {
        // Open only on Mondays, and every Monday for eleven years is a holiday.
        let mondays: Vec<String> = (0..(11 * 53))
            .map(|w| {
                (NaiveDate::from_ymd_opt(2026, 1, 5).unwrap() + Duration::weeks(w)).to_string()
            })
            .collect();
        let refs: Vec<&str> = mondays.iter().map(String::as_str).collect();
        let c = cal("Europe/Paris", &[("mon", "09:00-17:00")], &refs);
        let start = utc("2026-01-01T00:00:00Z");
        let horizon = start + Duration::days(HORIZON_DAYS);
        assert_eq!(c.add_business(start, h(1)), horizon);
        assert_eq!(c.next_opening(start), None);
        // A huge duration on a normal calendar saturates too, without walking forever.
        assert_eq!(
            new_york().add_business(start, Duration::days(365 * 100)),
            horizon
        );
    }

    // ---- validation -------------------------------------------------------------------

    #[test]
    fn a_bad_spec_reports_every_problem_at_once() {
        let s = spec(
            "Mars/Base",
            &[("mon", "9-17")],
            &["2026-11-26", "2026-13-01"],
        );
        assert_eq!(
            build_errors(&s),
            [
                "time_zone: unknown time zone \"Mars/Base\"",
                "hours.mon: \"9-17\" is not HH:MM-HH:MM",
                "holidays[1]: \"2026-13-01\" is not a YYYY-MM-DD date",
            ]
        );
    }

    #[test]
    fn every_kind_of_hours_problem_names_its_key() {
        let s = spec(
            "Europe/Berlin",
            &[
                ("funday", "09:00-17:00"),
                ("tue", "10:00-09:00"),
                ("wed", "09:00-12:00,11:00-17:00"),
                ("thu", "09:00-09:00"),
                ("fri", "09:00-17:00,"),
                ("sat", "24:30-25:00"),
            ],
            &["2026-12-25", "2026-1-5", "2026-12-25"],
        );
        let errors = build_errors(&s);
        assert_eq!(
            errors,
            [
                "hours.fri: \"\" is not HH:MM-HH:MM",
                "hours.funday: not a weekday (mon..sun)",
                "hours.sat: \"24:30-25:00\" is not HH:MM-HH:MM",
                "hours.thu: interval 09:00-09:00 is empty",
                "hours.tue: interval 10:00-09:00 ends before it starts",
                "hours.wed: intervals overlap (09:00-12:00 and 11:00-17:00)",
                "holidays[1]: \"2026-1-5\" is not a YYYY-MM-DD date",
                "holidays[2]: 2026-12-25 is already listed at holidays[0]",
            ]
        );
    }

    #[test]
    fn a_calendar_needs_some_working_hours() {
        let none = spec("UTC", &[], &[]);
        assert_eq!(build_errors(&none), ["hours: no working hours on any day"]);
        let closed = spec("UTC", &[("mon", "closed"), ("tue", "Closed")], &[]);
        assert_eq!(
            build_errors(&closed),
            ["hours: no working hours on any day"]
        );
    }

    #[test]
    fn well_formed_hours_are_accepted_and_normalised() {
        let s = spec(
            "UTC",
            &[
                ("mon", " 13:00-17:00 , 09:00 - 12:00 "),
                ("tue", "09:00-12:00,12:00-17:00"),
                ("wed", "00:00-24:00"),
                ("sat", "closed"),
            ],
            &[],
        );
        let c = s.build().unwrap();
        assert_eq!(c.time_zone(), Tz::UTC);
        assert_eq!(
            c.week[0],
            [
                Span {
                    open: 540,
                    close: 720
                },
                Span {
                    open: 780,
                    close: 1020
                }
            ]
        );
        assert_eq!(
            c.week[1],
            [Span {
                open: 540,
                close: 1020
            }]
        );
        assert_eq!(
            c.week[2],
            [Span {
                open: 0,
                close: 1440
            }]
        );
        assert!(c.week[5].is_empty() && c.week[6].is_empty());
    }

    // ---- properties -------------------------------------------------------------------

    fn property_calendars() -> Vec<BusinessCalendar> {
        let berlin_hours = [
            ("mon", "08:00-12:00,13:00-17:00"),
            ("tue", "08:00-12:00,13:00-17:00"),
            ("wed", "08:00-12:00,13:00-17:00"),
            ("thu", "08:00-12:00,13:00-17:00"),
            ("fri", "08:00-14:00"),
            // Sunday hours that the DST jumps fall inside (02:00-03:00 local).
            ("sun", "01:30-03:30"),
        ];
        let mut new_york_hours = weekdays("09:00-17:00");
        new_york_hours.push(("sun", "01:00-03:00"));
        vec![
            cal(
                "America/New_York",
                &new_york_hours,
                &[
                    "2026-01-01",
                    "2026-05-25",
                    "2026-07-03",
                    "2026-09-07",
                    "2026-11-26",
                    "2026-12-25",
                    "2027-01-01",
                    "2027-05-31",
                    "2027-07-05",
                    "2027-11-25",
                    "2027-12-24",
                ],
            ),
            cal(
                "Europe/Berlin",
                &berlin_hours,
                &[
                    "2026-01-01",
                    "2026-04-03",
                    "2026-04-06",
                    "2026-05-01",
                    "2026-10-25",
                    "2026-12-24",
                    "2026-12-25",
                    "2026-12-26",
                    "2027-03-26",
                    "2027-03-29",
                    "2027-12-24",
                ],
            ),
        ]
    }

    /// Whole seconds across 2026-2027, half of them within a week of a DST change.
    fn instant() -> impl Strategy<Value = DateTime<Utc>> {
        let from = utc("2026-01-01T00:00:00Z").timestamp();
        let to = utc("2028-01-01T00:00:00Z").timestamp();
        let changes: Vec<i64> = [
            "2026-03-08T07:00:00Z",
            "2026-03-29T01:00:00Z",
            "2026-10-25T01:00:00Z",
            "2026-11-01T06:00:00Z",
            "2027-03-14T07:00:00Z",
            "2027-03-28T01:00:00Z",
            "2027-10-31T01:00:00Z",
            "2027-11-07T06:00:00Z",
        ]
        .iter()
        .map(|s| utc(s).timestamp())
        .collect();
        let week: i64 = 7 * 24 * 3600;
        prop_oneof![
            from..to,
            (proptest::sample::select(changes), -week..week).prop_map(|(c, d)| c + d),
        ]
        .prop_map(|s| DateTime::from_timestamp(s, 0).unwrap())
    }

    /// 0 to 5 business days of 8 hours, in whole seconds.
    fn business_duration() -> impl Strategy<Value = Duration> {
        (0i64..=5 * 8 * 3600).prop_map(Duration::seconds)
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]

        #[test]
        fn measuring_what_was_added_gives_it_back(
            start in instant(),
            d in business_duration(),
        ) {
            for c in property_calendars() {
                let end = c.add_business(start, d);
                prop_assert!(end >= start);
                prop_assert_eq!(c.business_between(start, end), d, "tz {}", c.time_zone());
            }
        }

        #[test]
        fn adding_is_monotone_in_the_duration(
            start in instant(),
            d1 in business_duration(),
            d2 in business_duration(),
        ) {
            let (d1, d2) = (d1.min(d2), d1.max(d2));
            for c in property_calendars() {
                prop_assert!(c.add_business(start, d1) <= c.add_business(start, d2));
            }
        }

        #[test]
        fn business_time_is_bounded_by_elapsed_time(a in instant(), b in instant()) {
            for c in property_calendars() {
                let between = c.business_between(a, b);
                prop_assert!(between >= Duration::zero());
                prop_assert!(between <= (b - a).max(Duration::zero()));
            }
        }

        #[test]
        fn the_last_second_counted_was_working_time(
            start in instant(),
            d in (1i64..=5 * 8 * 3600).prop_map(Duration::seconds),
        ) {
            for c in property_calendars() {
                let end = c.add_business(start, d);
                prop_assert!(c.is_open(end - Duration::seconds(1)), "tz {}", c.time_zone());
            }
        }

        /// Adding what was measured up to `b` stops as soon as that time has run out: at `b`
        /// itself, or at the last closing before it, never at a later opening.
        #[test]
        fn adding_what_was_measured_never_overshoots(a in instant(), b in instant()) {
            let (a, b) = (a.min(b), a.max(b));
            for c in property_calendars() {
                let measured = c.business_between(a, b);
                let end = c.add_business(a, measured);
                prop_assert!(end <= b, "tz {}: {} > {}", c.time_zone(), end, b);
                prop_assert_eq!(c.business_between(end, b), Duration::zero());
            }
        }

        #[test]
        fn is_open_agrees_with_business_between(at in instant()) {
            for c in property_calendars() {
                let second = c.business_between(at, at + Duration::seconds(1));
                prop_assert_eq!(c.is_open(at), second == Duration::seconds(1));
                let next = c.next_opening(at).unwrap();
                prop_assert!(next >= at && c.is_open(next));
                prop_assert_eq!(c.business_between(at, next), Duration::zero());
            }
        }
    }
}
