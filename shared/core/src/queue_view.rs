//! The queue as a sales rep sees it: each open MQL with the business time left on its
//! SLA, ready to count down in a browser.
//!
//! Business time only runs while the owning team's calendar is open, so a countdown
//! needs more than a deadline: it needs to know whether the clock is running now and
//! when that changes (the office closes, or opens again). The page's script counts
//! down from [`Countdown::seconds_left`] while `ticking`, stops at `changes_at`, and
//! reloads there to get the next interval from the server. Pure: `now` is a parameter.

use chrono::{DateTime, Duration, Utc};

use crate::calendar::BusinessCalendar;
use crate::contract::Contract;
use crate::state::LeadState;

/// Business time left on an SLA at one instant, and how it moves from there.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Countdown {
    /// Business seconds until the deadline; negative once overdue (business seconds
    /// since it).
    pub seconds_left: i64,
    /// The team's calendar is open: the countdown runs.
    pub ticking: bool,
    /// When `ticking` flips (the calendar closes or opens), if within a week.
    pub changes_at: Option<DateTime<Utc>>,
}

impl Countdown {
    pub fn at(calendar: &BusinessCalendar, now: DateTime<Utc>, due: DateTime<Utc>) -> Countdown {
        Countdown::on(calendar, OfficeClock::at(calendar, now), now, due)
    }

    /// The countdown to `due` on a calendar whose clock at `now` is `clock`: what a
    /// queue computes once per team and shares between its rows.
    fn on(
        calendar: &BusinessCalendar,
        clock: OfficeClock,
        now: DateTime<Utc>,
        due: DateTime<Utc>,
    ) -> Countdown {
        let seconds_left = if due >= now {
            calendar.business_between(now, due).num_seconds()
        } else {
            -calendar.business_between(due, now).num_seconds()
        };
        Countdown {
            seconds_left,
            ticking: clock.ticking,
            changes_at: clock.changes_at,
        }
    }

    pub fn overdue(&self) -> bool {
        self.seconds_left < 0
    }

    /// For people: `2 h 05 min left`, `overdue by 12 min` (business time).
    pub fn label(&self) -> String {
        business_time_label(self.seconds_left)
    }
}

/// Whether a calendar's clock runs at one instant, and when that changes. It is the
/// same for every lead of a team, and finding the closing time takes about twenty
/// calendar reads, so a queue works it out once per team, not once per row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct OfficeClock {
    ticking: bool,
    changes_at: Option<DateTime<Utc>>,
}

impl OfficeClock {
    fn at(calendar: &BusinessCalendar, now: DateTime<Utc>) -> OfficeClock {
        let ticking = calendar.is_open(now);
        let changes_at = if ticking {
            closing_after(calendar, now)
        } else {
            calendar.next_opening(now)
        };
        OfficeClock {
            ticking,
            changes_at,
        }
    }
}

/// `2 h 05 min left`, `45 min left`, `overdue by 1 h 10 min`.
pub fn business_time_label(seconds_left: i64) -> String {
    let minutes = seconds_left.abs() / 60;
    let amount = if minutes >= 60 {
        format!("{} h {:02} min", minutes / 60, minutes % 60)
    } else {
        format!("{minutes} min")
    };
    if seconds_left < 0 {
        format!("overdue by {amount}")
    } else {
        format!("{amount} left")
    }
}

/// When an open calendar next closes: the first instant after which business time falls
/// behind wall time. That deficit never shrinks again, so a bisection finds it (to the
/// second) in about twenty calendar reads instead of a minute-by-minute walk.
fn closing_after(calendar: &BusinessCalendar, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
    let week = Duration::days(7);
    let open_throughout = |t: DateTime<Utc>| calendar.business_between(now, t) == t - now;
    if open_throughout(now + week) {
        return None;
    }
    let (mut lo, mut hi) = (now, now + week);
    while hi - lo > Duration::seconds(1) {
        let mid = lo + (hi - lo) / 2;
        if open_throughout(mid) {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    Some(lo)
}

/// One open MQL in a queue.
#[derive(Debug, Clone, PartialEq)]
pub struct QueueRow<'a> {
    pub lead: &'a LeadState,
    pub team: &'a str,
    pub name: String,
    pub company: Option<&'a str>,
    pub mql_at: Option<DateTime<Utc>>,
    pub due_at: Option<DateTime<Utc>>,
    /// None when the lead has no deadline or its team no calendar.
    pub countdown: Option<Countdown>,
    pub fit_tier: Option<u8>,
    pub fast_lane: bool,
    pub reason: &'a str,
    /// The routing rule's named owner, else the team.
    pub owner: &'a str,
}

/// The open MQLs among `leads`, oldest MQL first (ties by lead id), with their
/// countdowns at `now`. Leads that are no longer open MQLs are left out: the queue index
/// can lag a write.
pub fn queue_rows<'a>(
    leads: &'a [LeadState],
    contract: &Contract,
    now: DateTime<Utc>,
) -> Vec<QueueRow<'a>> {
    let mut clocks: Vec<(&str, OfficeClock)> = Vec::new();
    let mut rows: Vec<QueueRow<'a>> = leads
        .iter()
        .filter(|s| s.status == crate::lifecycle::Status::Mql)
        .filter_map(|s| {
            let team = s.team.as_deref()?;
            let assessment = s.assessment.as_ref();
            let due_at = s.sla.as_ref().map(|sla| sla.due_at);
            let countdown = due_at.zip(contract.team_calendar(team)).map(|(due, cal)| {
                let clock = match clocks.iter().find(|(t, _)| *t == team) {
                    Some((_, clock)) => *clock,
                    None => {
                        let clock = OfficeClock::at(cal, now);
                        clocks.push((team, clock));
                        clock
                    }
                };
                Countdown::on(cal, clock, now, due)
            });
            Some(QueueRow {
                lead: s,
                team,
                name: s
                    .profile
                    .full_name()
                    .unwrap_or_else(|| s.profile.email.clone()),
                company: s.profile.company.as_deref(),
                mql_at: s.mql_at,
                due_at,
                countdown,
                fit_tier: assessment.map(|a| a.fit_tier),
                fast_lane: assessment.is_some_and(|a| a.fast_lane),
                reason: assessment.map_or("", |a| a.mql_reason.as_str()),
                owner: assessment
                    .and_then(|a| a.route.as_ref())
                    .and_then(|r| r.owner.as_deref())
                    .unwrap_or(team),
            })
        })
        .collect();
    rows.sort_by(|a, b| {
        a.mql_at
            .cmp(&b.mql_at)
            .then_with(|| a.lead.lead_id.cmp(&b.lead.lead_id))
    });
    rows
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn at(d: u32, h: u32, m: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, d, h, m, 0).unwrap()
    }

    fn new_york() -> (Contract, String) {
        let c = Contract::default_contract().unwrap();
        (c, "ae-na".to_string())
    }

    #[test]
    fn a_countdown_runs_in_office_hours_and_stops_at_closing() {
        let (c, team) = new_york();
        let cal = c.team_calendar(&team).unwrap();
        // Monday 23 Nov, 15:00 UTC = 10:00 in New York: open.
        let now = at(23, 15, 0);
        let due = cal.add_business(now, Duration::minutes(90));
        let cd = Countdown::at(cal, now, due);
        assert_eq!(cd.seconds_left, 90 * 60);
        assert!(cd.ticking && !cd.overdue());
        let closing = cd.changes_at.unwrap();
        assert!(cal.is_open(closing - Duration::seconds(1)));
        assert!(!cal.is_open(closing + Duration::seconds(1)));
        assert_eq!(cd.label(), "1 h 30 min left");

        // At night it is frozen until the next opening.
        let night = at(24, 4, 0);
        let cd = Countdown::at(cal, night, due);
        assert!(!cd.ticking);
        assert_eq!(cd.changes_at, cal.next_opening(night));
        assert!(cd.overdue());
        assert!(cd.label().starts_with("overdue by "), "{}", cd.label());
    }

    #[test]
    fn labels_read_as_business_time() {
        assert_eq!(business_time_label(45 * 60 + 59), "45 min left");
        assert_eq!(business_time_label(125 * 60), "2 h 05 min left");
        assert_eq!(business_time_label(-70 * 60), "overdue by 1 h 10 min");
    }
}
