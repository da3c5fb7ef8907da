//! Ingest as a command: a form or webhook submission (a profile and signals), or more
//! signals for a known lead, applied to the lead's current state.

use chrono::{DateTime, Utc};
use serde_json::Value;

use super::{as_stored, Outcome};
use crate::contract::Contract;
use crate::intake::fill_only;
use crate::lead::{LeadProfile, Signal};
use crate::state::LeadState;

/// What a submission carries.
#[derive(Debug, Clone, Copy)]
pub struct Submission<'a> {
    /// The lead it is for (made by [`crate::LeadIds::id_for`] from the email).
    pub lead_id: &'a str,
    /// The form's profile. A new lead is made from it; a known lead takes its fields
    /// as `profile_update` says.
    pub profile: Option<&'a LeadProfile>,
    pub signals: &'a [Signal],
    /// Whether a lead that does not exist yet may be created (a form may; a signal
    /// batch for a lead id may not).
    pub may_create: bool,
    pub profile_update: ProfileUpdate,
}

/// How a submission's profile updates a known lead.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProfileUpdate {
    /// A signed source: the fields it carries replace the stored ones.
    Replace,
    /// A public form: only fields still empty are filled in (see
    /// [`crate::intake::fill_only`]), so nobody can rewrite a lead by knowing its email.
    FillEmpty,
}

/// The answer to a submission.
#[derive(Debug, Clone, PartialEq)]
pub struct Ingested {
    /// Whether this submission made the lead.
    pub created: bool,
    /// The lead's summary as stored (see [`LeadState::summary`]).
    pub summary: Value,
}

/// Why a submission changes nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum IngestRefused {
    #[error("lead not found")]
    UnknownLead,
}

/// Apply `submission` to the lead (`current`, None if it does not exist yet).
pub fn ingest(
    current: Option<LeadState>,
    submission: Submission<'_>,
    contract: &Contract,
    now: DateTime<Utc>,
) -> Result<Outcome<Ingested>, IngestRefused> {
    let created = current.is_none();
    let mut state = match (current, submission.profile) {
        (Some(state), _) => state,
        (None, Some(profile)) if submission.may_create => LeadState::new(
            submission.lead_id.to_string(),
            profile.clone(),
            contract,
            now,
        ),
        _ => return Err(IngestRefused::UnknownLead),
    };
    // A new lead was made from the profile already; only a known lead takes updates.
    let updates = match (created, submission.profile, submission.profile_update) {
        (true, _, _) | (_, None, _) => None,
        (false, Some(p), ProfileUpdate::Replace) => Some(p.clone()),
        (false, Some(p), ProfileUpdate::FillEmpty) => Some(fill_only(&state.profile, p)),
    };
    let events = state.ingest(updates.as_ref(), submission.signals, contract, now);
    let summary = as_stored(&state).summary(created);
    Ok(Outcome::new(
        state,
        events,
        Vec::new(),
        Ingested { created, summary },
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn demo_request(email: &str, at: DateTime<Utc>) -> (LeadProfile, Vec<Signal>) {
        let profile: LeadProfile = serde_json::from_value(serde_json::json!({
            "email": email, "first_name": "Dana", "last_name": "Lee", "title": "VP RevOps",
            "company": "Northwind", "employees": 250, "industry": "SaaS", "country": "US",
            "source": "website"
        }))
        .unwrap();
        let signal: Signal = serde_json::from_value(serde_json::json!({
            "type": "demo_request", "at": at, "question": true
        }))
        .unwrap();
        (profile, vec![signal])
    }

    #[test]
    fn a_new_demo_request_is_created_as_an_mql_with_its_counters() {
        let contract = Contract::default_contract().unwrap();
        let now = Utc.with_ymd_and_hms(2026, 11, 23, 15, 0, 0).unwrap();
        let (profile, signals) = demo_request("dana@northwind.io", now);
        let outcome = ingest(
            None,
            Submission {
                lead_id: "ld_dana",
                profile: Some(&profile),
                signals: &signals,
                may_create: true,
                profile_update: ProfileUpdate::Replace,
            },
            &contract,
            now,
        )
        .unwrap();
        assert!(outcome.response.created);
        assert_eq!(outcome.response.summary["status"], "mql");
        assert_eq!(outcome.response.summary["lead_id"], "ld_dana");
        assert_eq!(outcome.state.lead_id, "ld_dana");
        assert!(outcome.events.iter().any(|e| e.kind == "signal"));
        let counters: Vec<&str> = outcome
            .increments
            .iter()
            .flat_map(|m| m.counters.iter().map(|(name, _)| name.as_str()))
            .collect();
        assert!(counters.contains(&"mqls"), "{counters:?}");
        assert!(outcome.alerts.is_empty());
    }

    #[test]
    fn a_public_post_fills_a_known_leads_empty_fields_only() {
        let contract = Contract::default_contract().unwrap();
        let now = Utc.with_ymd_and_hms(2026, 11, 23, 15, 0, 0).unwrap();
        let (profile, signals) = demo_request("dana@northwind.io", now);
        let mut known = LeadState::new("ld_dana".into(), profile.clone(), &contract, now);
        known.profile.industry = None;
        let mut forged = profile.clone();
        forged.title = Some("Student".into());
        forged.industry = Some("fintech".into());
        forged.abm_target = true;
        for (update, title, industry) in [
            (ProfileUpdate::FillEmpty, "VP RevOps", "fintech"),
            (ProfileUpdate::Replace, "Student", "fintech"),
        ] {
            let outcome = ingest(
                Some(known.clone()),
                Submission {
                    lead_id: "ld_dana",
                    profile: Some(&forged),
                    signals: &signals,
                    may_create: true,
                    profile_update: update,
                },
                &contract,
                now,
            )
            .unwrap();
            let p = &outcome.state.profile;
            assert_eq!(p.title.as_deref(), Some(title), "{update:?}");
            assert_eq!(p.industry.as_deref(), Some(industry), "{update:?}");
            assert_eq!(p.abm_target, update == ProfileUpdate::Replace);
            assert_eq!(
                outcome.state.signals.len(),
                1,
                "signals are added either way"
            );
        }
    }

    #[test]
    fn signals_for_an_unknown_lead_are_refused() {
        let contract = Contract::default_contract().unwrap();
        let now = Utc.with_ymd_and_hms(2026, 11, 23, 15, 0, 0).unwrap();
        let (profile, signals) = demo_request("dana@northwind.io", now);
        for (profile, may_create) in [(None, true), (Some(&profile), false)] {
            let refused = ingest(
                None,
                Submission {
                    lead_id: "ld_dana",
                    profile,
                    signals: &signals,
                    may_create,
                    profile_update: ProfileUpdate::Replace,
                },
                &contract,
                now,
            );
            assert_eq!(refused, Err(IngestRefused::UnknownLead));
        }
    }
}
