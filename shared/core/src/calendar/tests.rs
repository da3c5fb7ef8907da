//! Unit tests of the business calendar: adding and measuring business time across
//! weekends, holidays and DST changes, spec validation, and proptests of the clock's
//! invariants. A child module, so they can see the private week and spans.

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
        .map(|w| (NaiveDate::from_ymd_opt(2026, 1, 5).unwrap() + Duration::weeks(w)).to_string())
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
