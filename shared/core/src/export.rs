//! What an export asks for and what it writes, pure: the validated query (months of
//! lead creation, status, team), which stored leads it keeps, and the CSV written part
//! by part, so that an export of any size is written as it is read (see
//! `leadwatch_adapters::store::ExportReader` for the read, the export job and
//! `leadwatch export` for the writing).

use chrono::{DateTime, TimeZone, Utc};
use serde::{Deserialize, Serialize};

use crate::lifecycle::Status;
use crate::packet::{packet_csv_row, CSV_HEADER};
use crate::report::Month;
use crate::state::LeadState;

/// The most months one export may span: each month costs a fixed number of small
/// index queries.
pub const MAX_EXPORT_MONTHS: usize = 36;

/// An export, validated: leads created in months `from` through `to` (both included),
/// optionally of one status and one team.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExportQuery {
    pub from: Month,
    pub to: Month,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<Status>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub team: Option<String>,
}

impl ExportQuery {
    /// The months the export reads, in order.
    pub fn months(&self) -> Vec<Month> {
        self.from.through(self.to)
    }

    /// The creation times the export keeps: from the first instant of `from`
    /// (included) to the first instant of the month after `to` (excluded).
    pub fn created_range(&self) -> (DateTime<Utc>, DateTime<Utc>) {
        (month_start(self.from), month_start(self.to.next()))
    }

    /// Does the export keep this lead? Its creation month, status and team, and it
    /// must have a handoff packet (a lead that never became an MQL has no row).
    pub fn keeps(&self, state: &LeadState) -> bool {
        let (start, end) = self.created_range();
        state.created_at >= start
            && state.created_at < end
            && self.status.is_none_or(|s| s == state.status)
            && self
                .team
                .as_deref()
                .is_none_or(|t| state.team.as_deref() == Some(t))
            && state.packet.is_some()
    }
}

/// The first instant of `month`, UTC.
pub fn month_start(month: Month) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(month.year, month.month, 1, 0, 0, 0)
        .single()
        .unwrap_or(DateTime::<Utc>::MIN_UTC)
}

/// Write the CSV header (`header`) and the rows of the kept `leads` to `out`: one part
/// of an export, whose parts concatenated are one CSV file. Returns the rows written.
pub fn write_csv_part<W: std::io::Write>(
    out: W,
    header: bool,
    leads: &[LeadState],
) -> Result<u64, csv::Error> {
    let mut writer = csv::WriterBuilder::new()
        .terminator(csv::Terminator::CRLF)
        .from_writer(out);
    if header {
        writer.write_record(CSV_HEADER)?;
    }
    let mut rows = 0;
    for state in leads {
        if let Some(packet) = &state.packet {
            writer.write_record(packet_csv_row(state.status.as_str(), packet))?;
            rows += 1;
        }
    }
    writer.flush()?;
    Ok(rows)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn query(from: &str, to: &str) -> ExportQuery {
        ExportQuery {
            from: Month::parse(from).unwrap(),
            to: Month::parse(to).unwrap(),
            status: None,
            team: None,
        }
    }

    #[test]
    fn the_range_runs_from_the_first_month_to_the_end_of_the_last() {
        let q = query("2026-11", "2027-01");
        let (start, end) = q.created_range();
        assert_eq!(start, Utc.with_ymd_and_hms(2026, 11, 1, 0, 0, 0).unwrap());
        assert_eq!(end, Utc.with_ymd_and_hms(2027, 2, 1, 0, 0, 0).unwrap());
        assert_eq!(q.months().len(), 3);
    }

    #[test]
    fn parts_concatenate_into_one_csv_with_one_header() {
        let mut out = Vec::new();
        assert_eq!(write_csv_part(&mut out, true, &[]).unwrap(), 0);
        assert_eq!(write_csv_part(&mut out, false, &[]).unwrap(), 0);
        let text = String::from_utf8(out).unwrap();
        assert_eq!(text, format!("{}\r\n", CSV_HEADER.join(",")));
    }

    #[test]
    fn a_query_round_trips_through_json() {
        let mut q = query("2026-01", "2026-02");
        q.status = Some(Status::Mql);
        q.team = Some("ae-na".into());
        let json = serde_json::to_string(&q).unwrap();
        assert_eq!(serde_json::from_str::<ExportQuery>(&json).unwrap(), q);
    }
}
