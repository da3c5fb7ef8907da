//! One synthetic lead, start to finish: its hidden quality and kind, who it is, when it
//! shows up, the signals of its journey, and whether it became an SQL. Also the built-in
//! names, companies and titles for what a contract says nothing about.

use chrono::{DateTime, Datelike, Duration, Utc};

use leadwatch_core::lead::{LeadProfile, Signal};

use super::{sql_probability, Draw, GeneratedLead, GeneratorOptions, Kind, LeadKind, Palette};
use crate::HistoryRecord;

const FIRST_NAMES: &[&str] = &[
    "Ana", "Ben", "Chloe", "Dana", "Elif", "Farah", "Gus", "Hana", "Ivan", "Jon", "Kemi", "Liam",
    "Maya", "Nils", "Olga", "Priya", "Quinn", "Rosa", "Sami", "Tara", "Uma", "Vik", "Wen", "Xavi",
    "Yara", "Zoe", "Amir", "Bea", "Carl", "Dev", "Ema", "Finn", "Greta", "Hugo", "Ines", "Jun",
    "Kai", "Lena", "Marco", "Noor",
];
const LAST_NAMES: &[&str] = &[
    "Lee", "Ortiz", "Novak", "Smith", "Garcia", "Kim", "Muller", "Rossi", "Silva", "Chen", "Patel",
    "Jones", "Berg", "Dubois", "Khan", "Sato", "Nowak", "Brown", "Costa", "Meyer", "Haas", "Ito",
    "Jensen", "Lopez", "Moreau", "Okafor", "Park", "Quist", "Reyes", "Stone",
];
const COMPANY_HEADS: &[&str] = &[
    "North", "Blue", "Bright", "Ledger", "Clear", "Iron", "Silver", "Peak", "Harbor", "Summit",
    "Pine", "Atlas", "Nova", "Quanta", "Cedar", "Maple", "River", "Stone", "Swift", "Vantage",
    "Orbit", "Copper", "Lumen", "Tidal",
];
const COMPANY_TAILS: &[&str] = &[
    "wind", "forge", "ly", "path", "stack", "works", "loop", "base", "point", "grid", "wave",
    "field", "craft", "scale", "metric", "lab",
];
const COMPANY_KINDS: &[&str] = &[
    "Analytics",
    "Systems",
    "Software",
    "Group",
    "Technologies",
    "Labs",
];
const TLDS: &[&str] = &["com", "io", "co", "net"];
const CAMPUSES: &[&str] = &["northfield", "lakeside", "stateu", "westbrook", "hillcrest"];

const ECONOMIC_BUYERS: &[&str] = &[
    "VP Sales",
    "VP of Marketing",
    "Chief Revenue Officer",
    "Head of Sales",
    "Head of Growth",
    "CMO",
    "Vice President, Revenue",
];
const CHAMPIONS: &[&str] = &[
    "Director of Revenue Operations",
    "Sales Operations Director",
    "Marketing Operations Director",
    "Director of Demand Generation",
    "RevOps Lead",
];
const USERS: &[&str] = &[
    "Marketing Manager",
    "SDR Team Lead",
    "CRM Specialist",
    "Sales Manager",
    "Demand Gen Specialist",
];
const OTHER_TITLES: &[&str] = &[
    "Software Engineer",
    "Data Analyst",
    "Office Coordinator",
    "Accountant",
    "Product Designer",
    "Customer Success Associate",
    "Founder",
];
const SOURCES: &[&str] = &[
    "website",
    "webinar",
    "paid_search",
    "linkedin_ads",
    "event",
    "partner",
    "content_syndication",
];

pub(super) fn one_lead(draw: &mut Draw, p: &Palette, options: &GeneratorOptions) -> GeneratedLead {
    // Most leads are mediocre; a few are excellent.
    let q = draw.unit().powf(1.4);
    let kind = if draw.chance(0.06 + 0.4 * (1.0 - q).powi(2)) {
        *draw
            .weighted(&[
                (LeadKind::FreeMail, 0.35),
                (LeadKind::Student, 0.15),
                (LeadKind::JobSeeker, 0.14),
                (LeadKind::Vendor, 0.12),
                (LeadKind::Competitor, 0.05),
                (LeadKind::OutOfMarket, 0.19),
            ])
            .unwrap_or(&LeadKind::Prospect)
    } else {
        LeadKind::Prospect
    };

    let first = draw.pick(FIRST_NAMES).copied().unwrap_or("Alex");
    let last = draw.pick(LAST_NAMES).copied().unwrap_or("Doe");
    let head = draw.pick(COMPANY_HEADS).copied().unwrap_or("Acme");
    let tail = draw.pick(COMPANY_TAILS).copied().unwrap_or("co");
    let company = format!(
        "{head}{tail} {}",
        draw.pick(COMPANY_KINDS).copied().unwrap_or("Inc")
    );
    let company_domain = format!(
        "{}{tail}.{}",
        head.to_lowercase(),
        draw.pick(TLDS).copied().unwrap_or("com")
    );
    let person = format!("{}.{}", first.to_lowercase(), last.to_lowercase());

    let email = match kind {
        LeadKind::FreeMail => match draw.pick(&p.free_domains) {
            Some(d) => format!("{person}{}@{d}", draw.between(1, 99)),
            None => format!("{person}@{company_domain}"),
        },
        LeadKind::Student => match draw.pick(&p.student_suffixes) {
            Some(s) if s.starts_with('.') => {
                format!(
                    "{person}@{}{s}",
                    draw.pick(CAMPUSES).copied().unwrap_or("campus")
                )
            }
            Some(s) => format!("{person}@{s}"),
            None => format!("{person}@{company_domain}"),
        },
        LeadKind::Competitor => match draw.pick(&p.competitors) {
            Some(d) => format!("{person}@{d}"),
            None => format!("{person}@{company_domain}"),
        },
        LeadKind::Vendor => match draw.pick(&p.vendors) {
            Some(d) => format!("{person}@{d}"),
            None => format!("{person}@{company_domain}"),
        },
        _ => format!("{person}@{company_domain}"),
    };

    let title = match kind {
        LeadKind::Student | LeadKind::JobSeeker if draw.chance(0.7) => p
            .title_disqualifiers
            .iter()
            .find(|w| {
                let student = w.contains("student") || w.contains("intern");
                (kind == LeadKind::Student) == student
            })
            .or_else(|| draw.pick(&p.title_disqualifiers))
            .map(|w| title_case(w)),
        _ => {
            // Seniority and relevance of the role follow quality closely: a VP of Sales
            // asking for pricing is a different lead from an engineer reading the blog.
            let pools: [(&[&str], f64); 4] = [
                (ECONOMIC_BUYERS, 0.02 + 0.6 * q * q),
                (CHAMPIONS, 0.04 + 0.4 * q),
                (USERS, 0.3),
                (OTHER_TITLES, 0.02 + 0.6 * (1.0 - q).powi(2)),
            ];
            let pool = draw.weighted(&pools).copied().unwrap_or(USERS);
            // Some forms do not ask for a title.
            (!draw.chance(0.02 + 0.08 * (1.0 - q)))
                .then(|| draw.pick(pool).copied().unwrap_or("Manager").to_string())
        }
    };

    // Forms from weaker leads leave more fields empty.
    let missing = 0.02 + 0.08 * (1.0 - q);
    let employees = if draw.chance(missing) {
        None
    } else if draw.chance(on_profile(q)) {
        // On profile: the best band for the best leads, any band for the others.
        let band = if draw.chance(q) {
            p.bands.first()
        } else {
            draw.pick(&p.bands)
        };
        band.map(|&(lo, hi)| draw.log_between(lo, hi))
    } else {
        Some(off_profile_employees(draw, p))
    };

    let industry = if draw.chance(missing) {
        None
    } else if draw.chance(on_profile(q)) {
        draw.weighted(&p.industries).map(|i| display_industry(i))
    } else {
        draw.pick(&p.other_industries).map(|i| display_industry(i))
    };

    let country = if kind == LeadKind::OutOfMarket {
        draw.pick(&p.outside_countries).cloned()
    } else if draw.chance(0.03) {
        None
    } else {
        draw.weighted(&p.countries).cloned()
    };

    let abm_target = kind == LeadKind::Prospect && draw.chance(0.03 + 0.35 * q * q);

    // Timing: the lead shows up, reads now and then for weeks, and if it is going to
    // buy it has a burst of intent somewhere in that journey, tighter the better it is.
    // A century at most keeps every instant far inside chrono's range.
    let window_minutes = i64::from(options.days.clamp(1, 36_600)) * 24 * 60;
    let created_at = plus(
        options.start,
        Duration::minutes((draw.unit() * window_minutes as f64) as i64),
    );
    let journey_days = 7.0 + 35.0 * draw.unit();
    let burst = journey_days * (0.3 + 0.7 * draw.unit());
    let spread = 0.5 + 5.0 * (1.0 - q);
    let at_day = |day: f64| {
        plus(
            created_at,
            Duration::seconds((day.max(0.0) * 86_400.0) as i64),
        )
    };

    let mut signals = Vec::new();
    let mut push = |draw: &mut Draw, k: &Kind, day: f64| {
        let seconds_on_page = k.measures_seconds.then(|| {
            // 5 s to ~7 min; the better the lead, the longer it reads.
            (5.0 * 80.0_f64.powf(0.55 * draw.unit() + 0.45 * q)).round() as u32
        });
        let question = k.asks && draw.chance(0.1 + 0.6 * q);
        signals.push(Signal {
            kind: k.name.clone(),
            at: at_day(day),
            seconds_on_page,
            question,
            detail: None,
        });
    };

    let reading = 1.0 + 3.0 * draw.unit() + 6.0 * q;
    for _ in 0..draw.poisson(reading) {
        if let Some(k) = draw.pick(&p.cheap) {
            let day = draw.unit() * journey_days;
            push(draw, k, day);
        }
    }
    for _ in 0..draw.poisson(0.3 + 4.5 * q.powf(1.5)) {
        if let Some(k) = draw.weighted(&p.engaged) {
            let day = burst + spread * draw.bell();
            push(draw, k, day);
        }
    }
    for _ in 0..draw.poisson(0.05 + 2.0 * q.powf(2.5)) {
        if let Some(k) = draw.weighted(&p.readiness) {
            let day = burst + spread * draw.bell();
            push(draw, k, day);
        }
    }
    let raised_hand = draw.chance(0.015 + 0.45 * q.powi(3));
    if raised_hand {
        if let Some(k) = draw.pick(&p.hand_raise) {
            let day = burst + 0.5 * spread * draw.unit();
            push(draw, k, day);
        }
    }
    for k in &p.negative {
        if draw.chance(0.2 * (1.0 - q).powi(2)) {
            let day = draw.unit() * journey_days;
            push(draw, k, day);
        }
    }
    match kind {
        LeadKind::Vendor if draw.chance(0.7) => {
            if let Some(k) = &p.vendor_signal {
                push(draw, k, 0.0);
            }
        }
        LeadKind::JobSeeker if draw.chance(0.7) => {
            if let Some(k) = &p.job_signal {
                let day = draw.unit() * 3.0;
                push(draw, k, day);
            }
        }
        _ => {}
    }
    signals.sort_by_key(|s| s.at);

    let sql_p = sql_probability(q, kind);
    let sql = draw.chance(sql_p);
    // Only leads that reached sales carry a rejection reason.
    let reached_sales = raised_hand || signals.len() >= 8;
    let rejection_reason = if !sql && draw.chance(if reached_sales { 0.6 } else { 0.15 }) {
        let wanted = match kind {
            LeadKind::Competitor => "competitor",
            LeadKind::FreeMail if draw.chance(0.5) => "bad_data",
            LeadKind::Prospect if q >= 0.25 => draw
                .weighted(&[
                    ("no_intent", 0.4),
                    ("already_in_pipeline", 0.2),
                    ("duplicate", 0.15),
                    ("not_icp", 0.15),
                    ("other", 0.1),
                ])
                .copied()
                .unwrap_or("other"),
            LeadKind::Prospect if draw.chance(0.5) => "no_intent",
            _ => "not_icp",
        };
        p.reason(wanted)
    } else {
        None
    };

    let source = if raised_hand {
        "website"
    } else {
        draw.pick(SOURCES).copied().unwrap_or("website")
    };
    let campaign = format!(
        "{}-q{}-{source}",
        created_at.year(),
        created_at.month0() / 3 + 1
    );

    GeneratedLead {
        record: HistoryRecord {
            profile: LeadProfile {
                email,
                first_name: Some(first.to_string()),
                last_name: Some(last.to_string()),
                title,
                company: matches!(
                    kind,
                    LeadKind::Prospect | LeadKind::OutOfMarket | LeadKind::FreeMail
                )
                .then_some(company),
                employees,
                industry,
                country,
                abm_target,
                source: Some(source.to_string()),
                campaign: Some(campaign),
            },
            created_at: Some(created_at),
            signals,
            sql,
            rejection_reason,
        },
        quality: q,
        sql_probability: sql_p,
        kind,
    }
}

/// The chance that a firmographic (size, industry) is one the contract scores: low for
/// weak leads, near certain for good ones. ICP fit is much of what makes a lead buy.
fn on_profile(q: f64) -> f64 {
    0.03 + 0.94 / (1.0 + (-8.0 * (q - 0.3)).exp())
}

/// A company size outside every scoring band: mostly inside the gates (too small or too
/// large to score), sometimes outside them.
fn off_profile_employees(draw: &mut Draw, p: &Palette) -> u32 {
    let (lo, hi) = p.employee_range;
    let (lo, hi) = ((lo * 3 / 4).max(1), hi.saturating_add(hi / 5));
    let mut size = draw.log_between(lo, hi);
    for _ in 0..8 {
        if !p
            .bands
            .iter()
            .any(|&(min, max)| (min..=max).contains(&size))
        {
            break;
        }
        size = draw.log_between(lo, hi);
    }
    size
}

/// Saturating: a start at the very end of time keeps its leads there instead of panicking.
fn plus(t: DateTime<Utc>, d: Duration) -> DateTime<Utc> {
    t.checked_add_signed(d).unwrap_or(t)
}

fn title_case(text: &str) -> String {
    text.split(' ')
        .map(|w| {
            let mut chars = w.chars();
            match chars.next() {
                Some(c) => c.to_uppercase().chain(chars).collect(),
                None => String::new(),
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// Industries as a person types them; contracts match them case-insensitively.
fn display_industry(key: &str) -> String {
    match key {
        "saas" => "SaaS".into(),
        "fintech" => "FinTech".into(),
        "ecommerce" => "eCommerce".into(),
        other => title_case(other),
    }
}
