//! A lead's signals arrive: record them, re-assess, and promote a lead that now
//! qualifies to MQL with its handoff packet and SLA schedule (or say why not).

use chrono::{DateTime, Utc};

use super::{AuditEvent, LeadState, MAX_RECENT_SIGNALS};
use crate::assess::{assess_with, Action, AssessOptions, Assessment};
use crate::contract::Contract;
use crate::lead::{LeadProfile, Signal};
use crate::lifecycle::{next_status, Status, Transition};
use crate::packet::build_packet;
use crate::sla::schedule;

impl LeadState {
    /// Add new signals (and any profile updates) and re-assess. A lead in Lead or
    /// Nurture that now qualifies is promoted with its packet and SLA schedule.
    pub fn ingest(
        &mut self,
        profile: Option<&LeadProfile>,
        signals: &[Signal],
        contract: &Contract,
        now: DateTime<Utc>,
    ) -> Vec<AuditEvent> {
        let cv = contract.version().to_string();
        let mut events = Vec::new();
        if let Some(p) = profile {
            self.profile.merge_from(p);
        }
        for s in signals {
            let mut e = AuditEvent::new("signal", s.at, &cv);
            e.detail = Some(match &s.detail {
                Some(d) => format!("{}: {}", s.kind, crate::text::clip(d, 120)),
                None => s.kind.clone(),
            });
            events.push(e);
            self.signals.push(s.clone());
        }
        self.signals.sort_by_key(|s| s.at);
        if self.signals.len() > MAX_RECENT_SIGNALS {
            let excess = self.signals.len() - MAX_RECENT_SIGNALS;
            self.signals.drain(..excess);
        }
        let options = AssessOptions {
            signals_since: self.returned_at,
            cool_off_until: self.cool_off_until,
        };
        let assessment = assess_with(&self.profile, &self.signals, contract, now, options);
        self.contract_version = cv.clone();
        self.updated_at = now;

        if matches!(self.status, Status::Lead | Status::Nurture) {
            let from = self.status;
            match assessment.action {
                Action::ActNow => {
                    match self.promote(&assessment, contract, now) {
                        Ok(()) => events.push(AuditEvent {
                            team: self.team.clone(),
                            fast_lane: self.packet.as_ref().is_some_and(|p| p.fast_lane),
                            detail: self
                                .sla
                                .as_ref()
                                .map(|s| format!("due {}", s.due_at.to_rfc3339())),
                            ..AuditEvent::transition(
                                Transition::Promote,
                                from,
                                Status::Mql,
                                now,
                                &cv,
                            )
                        }),
                        Err(problem) => {
                            // Qualified but not actionable: say so in the history and keep nurturing.
                            self.status = Status::Nurture;
                            let mut e = AuditEvent::transition(
                                Transition::Nurture,
                                from,
                                Status::Nurture,
                                now,
                                &cv,
                            );
                            e.detail = Some(format!("not promoted: {problem}"));
                            events.push(e);
                        }
                    }
                }
                Action::Nurture => {
                    self.status = Status::Nurture;
                    if from != Status::Nurture {
                        events.push(AuditEvent::transition(
                            Transition::Nurture,
                            from,
                            Status::Nurture,
                            now,
                            &cv,
                        ));
                    }
                }
                Action::Disqualify => {
                    self.status = Status::Disqualified;
                    let mut e = AuditEvent::transition(
                        Transition::Disqualify,
                        from,
                        Status::Disqualified,
                        now,
                        &cv,
                    );
                    e.reason = Some(
                        assessment
                            .failed_gates
                            .iter()
                            .map(|g| g.gate.as_str())
                            .collect::<Vec<_>>()
                            .join(","),
                    );
                    events.push(e);
                }
            }
        }
        self.assessment = Some(assessment);
        events
    }

    fn promote(
        &mut self,
        assessment: &Assessment,
        contract: &Contract,
        now: DateTime<Utc>,
    ) -> Result<(), String> {
        let packet = build_packet(
            &self.lead_id,
            &self.profile,
            &self.signals,
            assessment,
            contract,
        )
        .map_err(|e| e.to_string())?;
        let team = packet.team.clone();
        let policy_name = assessment
            .sla_policy
            .as_deref()
            .ok_or_else(|| "no SLA policy selected".to_string())?;
        let policy = contract
            .sla_policy(policy_name)
            .ok_or_else(|| format!("unknown SLA policy {policy_name}"))?;
        let calendar = contract
            .team_calendar(&team)
            .ok_or_else(|| format!("team {team} has no calendar"))?;
        self.status = next_status(self.status, Transition::Promote).map_err(|e| e.to_string())?;
        self.sla = Some(schedule(policy_name, policy, calendar, now));
        self.sla_step = 0;
        self.claim = None;
        self.mql_at = Some(now);
        self.mql_cycle += 1;
        self.team = Some(team);
        self.packet = Some(packet);
        self.accepted_at = None;
        self.accepted_by = None;
        self.accept_business_minutes = None;
        self.accepted_within_sla = None;
        self.first_touch_at = None;
        self.qualified_at = None;
        self.rejection = None;
        Ok(())
    }
}
