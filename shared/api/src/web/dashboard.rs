//! The ops dashboard: SLA met % per team and month against the contract's target, time
//! to accept p50/p90, the MQL → SAL → SQL funnel, rejections by reason and the
//! contract-review flag, with filters by month range, team, source and fit tier.
//!
//! Every figure comes from the same [`SlaReport`] that `GET /reports/sla` and
//! `leadwatch report` build, and the monthly table prints the report's own fields, so
//! the page and the terminal cannot disagree. Rollups are kept per team, per source and
//! per fit tier, not crossed, so one slice filter applies at a time. `leadwatch report
//! --html` writes [`report_document`]: the same body in one self-contained file.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::extract::State;
use axum::http::{StatusCode, Uri};
use axum::response::Response;
use chrono::{DateTime, Utc};
use leadwatch_adapters::store::{Store, StoreError};
use leadwatch_core::lead::FieldError;
use leadwatch_core::report::{contract_review, ContractReview, Month, ReportRow, SlaReport};
use leadwatch_core::Contract;
use maud::{html, Markup, PreEscaped, DOCTYPE};

use super::charts::{grouped_bars, horizontal_bars, GroupedBars};
use super::input::{page_query, Unknown};
use super::layout::{minutes, page, pct, Nav, Viewer};
use super::session::{form_token, PageCaller};
use super::{html as html_response, PageError, WebApp};
use crate::report::{sla_report, ReportQuery};
use crate::request::Now;

/// The dashboard's filters.
const FILTERS: [&str; 5] = ["from", "to", "team", "source", "fit_tier"];

/// The fit tiers an assessment gives (`leadwatch_core::assess`).
const FIT_TIERS: [&str; 3] = ["1", "2", "3"];

/// Which rows the figures are of.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Slice {
    /// `all`, `team`, `source` or `fit_tier`, as in the report's rows.
    pub dimension: String,
    pub value: String,
}

impl Slice {
    pub fn all() -> Slice {
        Slice {
            dimension: "all".into(),
            value: "all".into(),
        }
    }

    fn describe(&self) -> String {
        match self.dimension.as_str() {
            "all" => "all teams".into(),
            d => format!("{} {}", d.replace('_', " "), self.value),
        }
    }
}

/// The dashboard's content.
pub struct DashboardView<'a> {
    pub report: &'a SlaReport,
    pub slice: Slice,
    pub contract: &'a Contract,
    /// None: the viewer may not see the review (it is about every team).
    pub review: Option<Option<ContractReview>>,
}

/// `GET /app/dashboard`.
pub async fn dashboard_page(
    State(app): State<Arc<WebApp>>,
    Now(now): Now,
    PageCaller(caller): PageCaller,
    uri: Uri,
) -> Result<Response, PageError> {
    let q = page_query(&uri, &FILTERS, Unknown::Refuse)?;
    let blank = |name: &str| {
        q.get(name)
            .map(str::trim)
            .filter(|v| !v.is_empty())
            .map(str::to_string)
    };
    let (team, source, fit_tier) = (blank("team"), blank("source"), blank("fit_tier"));
    // A source or tier no lead can have would show an empty page as if it were true.
    let mut errors = Vec::new();
    if let Some(f) = fit_tier.as_deref().filter(|f| !FIT_TIERS.contains(f)) {
        errors.push(FieldError::new(
            "fit_tier",
            format!(
                "\"{}\" is not a fit tier ({})",
                leadwatch_core::text::clip(f, 20),
                FIT_TIERS.join(", ")
            ),
        ));
    }
    if let Some(s) = source.as_deref() {
        if s.chars().count() > 100 || s.chars().any(char::is_control) {
            errors.push(FieldError::new(
                "source",
                "is not a source name (at most 100 characters, no control characters)",
            ));
        }
    }
    let everything = caller.may_read_reports(None).is_ok();
    // A manager sees their own team only: default to it rather than refuse.
    let team = match team {
        None if !everything => caller
            .teams
            .iter()
            .find(|t| caller.may_read_reports(Some(t)).is_ok())
            .cloned(),
        t => t,
    };
    let this_month = Month::of(now.date_naive());
    let to = blank("to").unwrap_or_else(|| this_month.to_string());
    let from = blank("from").unwrap_or_else(|| match Month::parse(&to) {
        Ok(m) => m.previous().previous().to_string(),
        Err(_) => to.clone(),
    });
    let query = ReportQuery::parse(Some(&from), Some(&to), team.as_deref(), &app.contract);
    let query = match query {
        Ok(query) if errors.is_empty() => query,
        Ok(_) => return Err(filters_refused(&errors)),
        Err(mut more) => {
            more.extend(errors);
            return Err(filters_refused(&more));
        }
    };
    caller
        .may_read_reports(query.team.as_deref())
        .map_err(PageError::forbidden)?;
    if (source.is_some() || fit_tier.is_some()) && !everything {
        return Err(PageError::new(
            StatusCode::FORBIDDEN,
            "Not allowed",
            "figures by source or fit tier cover every team: they are for ops",
        ));
    }
    let slice = match (&query.team, source, fit_tier) {
        (Some(t), _, _) => Slice {
            dimension: "team".into(),
            value: t.clone(),
        },
        (None, Some(s), _) => Slice {
            dimension: "source".into(),
            value: s,
        },
        (None, None, Some(f)) => Slice {
            dimension: "fit_tier".into(),
            value: f,
        },
        _ => Slice::all(),
    };
    let (report, review) = if everything {
        let (report, review) = report_with_review(
            &app.store,
            &query,
            &app.contract,
            Month::of(now.date_naive()),
        )
        .await?;
        (report, Some(review))
    } else {
        (sla_report(&app.store, &query).await?, None)
    };
    let token = form_token(&app.signer, &caller, now);
    let viewer = Viewer {
        caller: &caller,
        form_token: &token,
    };
    let view = DashboardView {
        report: &report,
        slice,
        contract: &app.contract,
        review,
    };
    let body = html! {
        h1 { "Dashboard" }
        (filters(&view, &query, everything))
        (dashboard_body(&view))
    };
    Ok(html_response(
        StatusCode::OK,
        page("Dashboard", Some(&viewer), Nav::Dashboard, body),
    ))
}

fn filters_refused(errors: &[FieldError]) -> PageError {
    let text: Vec<String> = errors.iter().map(ToString::to_string).collect();
    PageError::new(
        StatusCode::UNPROCESSABLE_ENTITY,
        "Filters not understood",
        text.join("; "),
    )
}

/// The report `query` asks for, and the contract review as the watchdog makes it: for
/// the last closed month before `this_month`, over every team. The review's months may
/// lie before the query's, so the rollups read cover both.
pub async fn report_with_review(
    store: &Store,
    query: &ReportQuery,
    contract: &Contract,
    this_month: Month,
) -> Result<(SlaReport, Option<ContractReview>), StoreError> {
    let last_closed = this_month.previous();
    let mut first = last_closed;
    for _ in 1..contract.spec.targets.consecutive_months.max(1) {
        first = first.previous();
    }
    let wide = ReportQuery {
        from: query.from.min(first),
        to: query.to.max(last_closed),
        team: None,
    };
    let all = sla_report(store, &wide).await?;
    let review = contract_review(&all, last_closed, &contract.spec.targets);
    let report = match &query.team {
        Some(_) => sla_report(store, query).await?,
        None => {
            let months: Vec<String> = query
                .from
                .through(query.to)
                .iter()
                .map(Month::to_string)
                .collect();
            let mut report = all;
            report.rows.retain(|r| months.contains(&r.month));
            report.from = query.from.to_string();
            report.to = query.to.to_string();
            report
        }
    };
    Ok((report, review))
}

fn filters(v: &DashboardView<'_>, q: &ReportQuery, everything: bool) -> Markup {
    let sources: Vec<&str> = distinct(v.report, "source");
    let tiers: Vec<&str> = distinct(v.report, "fit_tier");
    let selected = |d: &str, value: &str| v.slice.dimension == d && v.slice.value == value;
    html! {
        form.filters method="get" action="/app/dashboard" aria-label="Filters" {
            div.field { label for="from" { "From month" } input #from name="from" type="month" value=(q.from.to_string()); }
            div.field { label for="to" { "To month" } input #to name="to" type="month" value=(q.to.to_string()); }
            div.field {
                label for="team" { "Team" }
                select #team name="team" {
                    @if everything { option value="" { "All teams" } }
                    @for t in v.contract.spec.teams.keys() { option value=(t) selected[selected("team", t)] { (t) } }
                }
            }
            @if everything {
                div.field {
                    label for="source" { "Source" }
                    select #source name="source" {
                        option value="" { "Any source" }
                        @for s in &sources { option value=(s) selected[selected("source", s)] { (s) } }
                    }
                }
                div.field {
                    label for="fit_tier" { "Fit tier" }
                    select #fit_tier name="fit_tier" {
                        option value="" { "Any tier" }
                        @for t in &tiers { option value=(t) selected[selected("fit_tier", t)] { "tier " (t) } }
                    }
                }
            }
            button type="submit" { "Apply" }
        }
        p.muted { "Figures are rolled up per team, per source and per fit tier separately, so one of those filters applies at a time (team first)." }
    }
}

fn distinct<'a>(report: &'a SlaReport, dimension: &str) -> Vec<&'a str> {
    let mut values: Vec<&str> = report
        .rows
        .iter()
        .filter(|r| r.dimension == dimension)
        .map(|r| r.value.as_str())
        .collect();
    values.sort_unstable();
    values.dedup();
    values
}

/// The figures and charts: the page's body below its filters, and the report file's.
pub fn dashboard_body(v: &DashboardView<'_>) -> Markup {
    let report = v.report;
    let months: Vec<String> = Month::parse(&report.from)
        .and_then(|f| Month::parse(&report.to).map(|t| f.through(t)))
        .map(|ms| ms.iter().map(Month::to_string).collect())
        .unwrap_or_default();
    let rows: Vec<&ReportRow> = report
        .rows
        .iter()
        .filter(|r| r.dimension == v.slice.dimension && r.value == v.slice.value)
        .collect();
    let targets = &v.contract.spec.targets;
    // SLA met per team and month: every team's row, or the one team's.
    let mut teams: BTreeMap<&str, Vec<Option<f64>>> = BTreeMap::new();
    for r in report.rows.iter().filter(|r| r.dimension == "team") {
        if v.slice.dimension == "team" && r.value != v.slice.value {
            continue;
        }
        let values = teams
            .entry(r.value.as_str())
            .or_insert_with(|| vec![None; months.len()]);
        if let Some(i) = months.iter().position(|m| *m == r.month) {
            values[i] = r.sla_met_pct;
        }
    }
    let sla_series: Vec<(String, Vec<Option<f64>>)> =
        teams.into_iter().map(|(t, v)| (t.to_string(), v)).collect();
    let of_month = |m: &str| rows.iter().find(|r| r.month == m).copied();
    let tta: Vec<(String, Vec<Option<f64>>)> = vec![
        (
            "p50".into(),
            months
                .iter()
                .map(|m| {
                    of_month(m)
                        .and_then(|r| r.time_to_accept_p50_minutes)
                        .map(|x| x as f64)
                })
                .collect(),
        ),
        (
            "p90".into(),
            months
                .iter()
                .map(|m| {
                    of_month(m)
                        .and_then(|r| r.time_to_accept_p90_minutes)
                        .map(|x| x as f64)
                })
                .collect(),
        ),
    ];
    let tta_max = tta
        .iter()
        .flat_map(|(_, v)| v.iter().flatten())
        .fold(0.0, |a: f64, b| a.max(*b));
    let (mqls, sals, sqls) = rows.iter().fold((0, 0, 0), |(m, a, s), r| {
        (m + r.mqls, a + r.accepted, s + r.sqls)
    });
    let share = |n: i64| {
        if mqls > 0 {
            format!("{n} ({:.1} % of MQLs)", 100.0 * n as f64 / mqls as f64)
        } else {
            n.to_string()
        }
    };
    let mut rejections: BTreeMap<&str, i64> = BTreeMap::new();
    for r in &rows {
        for (reason, n) in &r.rejections {
            *rejections.entry(reason.as_str()).or_default() += n;
        }
    }
    let scope = v.slice.describe();
    html! {
        @match &v.review {
            Some(Some(review)) => {
                div.banner.error role="status" #contract-review data-review="due" {
                    strong { "Contract review due" } " (" (review.months.join(", ")) "): "
                    (review.findings.join("; "))
                }
            }
            Some(None) => {
                p.banner #contract-review data-review="none" {
                    "No contract review due: the last " (targets.consecutive_months) " closed months did not all miss a target."
                }
            }
            None => {}
        }
        p.muted { "Report " (report.from) " to " (report.to) " for " strong { (scope) } ", by MQL month, in business minutes. Targets: SLA met " (pct(Some(targets.sla_met_pct))) ", acceptance " (pct(Some(targets.acceptance_pct))) "." }
        div.grid {
            (grouped_bars(&GroupedBars {
                id: "chart-sla",
                title: "SLA met % by team and month",
                description: &format!("Share of decided MQLs decided within the SLA, per team and month, against the contract's target of {:.1} %.", targets.sla_met_pct),
                groups: &months,
                series: &sla_series,
                max: 100.0,
                unit: " %",
                target: Some((targets.sla_met_pct, "target")),
            }))
            (grouped_bars(&GroupedBars {
                id: "chart-tta",
                title: "Time to accept, p50 and p90 (business minutes)",
                description: &format!("Median and 90th percentile of business minutes from MQL to acceptance, per month, for {scope}."),
                groups: &months,
                series: &tta,
                max: (tta_max * 1.1).max(10.0),
                unit: "",
                target: None,
            }))
            (horizontal_bars("chart-funnel", "Funnel: MQL → SAL → SQL",
                &format!("MQLs handed to sales, accepted (SAL) and qualified (SQL) for {scope} over the range."),
                &[("MQL".into(), mqls as f64, mqls.to_string()), ("SAL".into(), sals as f64, share(sals)), ("SQL".into(), sqls as f64, share(sqls))]))
            @if rejections.is_empty() {
                figure.chart #chart-rejections { figcaption { "Rejections by reason" } p.muted { "No rejections in this range." } }
            } @else {
                (horizontal_bars("chart-rejections", "Rejections by reason",
                    &format!("How many MQLs or SALs sales rejected, by the contract's reason codes, for {scope}."),
                    &rejections.iter().map(|(r, n)| (r.replace('_', " "), *n as f64, n.to_string())).collect::<Vec<_>>()))
            }
        }
        table #report-rows {
            caption { "By month: " (scope) }
            thead {
                tr {
                    th scope="col" { "Month" }
                    th scope="col" class="num" { "MQLs" }
                    th scope="col" class="num" { "Fast lane" }
                    th scope="col" class="num" { "SLA met" }
                    th scope="col" class="num" { "Acceptance" }
                    th scope="col" class="num" { "TTA p50" }
                    th scope="col" class="num" { "TTA p90" }
                    th scope="col" class="num" { "MQL→SAL" }
                    th scope="col" class="num" { "SAL→SQL" }
                    th scope="col" class="num" { "Expired" }
                    th scope="col" class="num" { "Rejected" }
                }
            }
            tbody {
                @for r in &rows {
                    tr data-month=(r.month) {
                        th scope="row" { (r.month) }
                        td.num data-figure="mqls" { (r.mqls) }
                        td.num data-figure="fast_lane_mqls" { (r.fast_lane_mqls) }
                        td.num data-figure="sla_met_pct" { (pct(r.sla_met_pct)) }
                        td.num data-figure="acceptance_rate_pct" { (pct(r.acceptance_rate_pct)) }
                        td.num data-figure="time_to_accept_p50_minutes" { (minutes(r.time_to_accept_p50_minutes)) }
                        td.num data-figure="time_to_accept_p90_minutes" { (minutes(r.time_to_accept_p90_minutes)) }
                        td.num data-figure="mql_to_sal_pct" { (pct(r.mql_to_sal_pct)) }
                        td.num data-figure="sal_to_sql_pct" { (pct(r.sal_to_sql_pct)) }
                        td.num data-figure="expired" { (r.expired) }
                        td.num data-figure="rejected" { (r.rejected) }
                    }
                }
            }
        }
        @if rows.is_empty() { p { "No MQLs in this range for " (scope) "." } }
    }
}

/// The monthly review as one self-contained HTML file: the dashboard's body with the
/// stylesheet inlined, no script, nothing fetched.
pub fn report_document(view: &DashboardView<'_>, generated_at: DateTime<Utc>) -> String {
    let title = format!(
        "Leadwatch SLA review {} to {}",
        view.report.from, view.report.to
    );
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) }
                style { (PreEscaped(super::assets::APP_CSS)) }
            }
            body {
                main #main {
                    h1 { (title) }
                    p.muted { "Contract " (view.contract.version()) ", generated " (super::layout::when(generated_at)) "." }
                    (dashboard_body(view))
                }
            }
        }
    }
    .into_string()
}
