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
mod tests;
