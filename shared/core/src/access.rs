//! Who may do what. A caller is whoever API Gateway's JWT authorizer vouched for: a
//! subject, an email, the teams they belong to and their roles. Leads belong to the
//! team they were routed to, so every permission is a question about a caller and a
//! team. Keeping the rules here, pure, lets one table of tests pin them down and lets
//! the HTTP layer answer a refusal with the permission that was missing.
//!
//! | role | may |
//! |---|---|
//! | rep | act on and read the leads of their own teams; read their teams' queues |
//! | manager | as a rep, plus their teams' reports and exports |
//! | ops | read every lead, every report and export; act on leads only of a team they are also on |
//! | admin | everything |

use std::collections::BTreeSet;
use std::fmt;

use serde::Serialize;

/// A role a caller holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Rep,
    Manager,
    Ops,
    Admin,
}

impl Role {
    pub fn parse(s: &str) -> Option<Role> {
        match s.trim().to_ascii_lowercase().as_str() {
            "rep" => Some(Role::Rep),
            "manager" => Some(Role::Manager),
            "ops" => Some(Role::Ops),
            "admin" => Some(Role::Admin),
            _ => None,
        }
    }
}

/// A signed-in caller.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Caller {
    /// The token's `sub`: stable, never reused.
    pub subject: String,
    /// The token's `email`, when it has one: what audit records and alerts show.
    pub email: Option<String>,
    pub teams: BTreeSet<String>,
    pub roles: BTreeSet<Role>,
}

/// What a refusal names: the permission the caller lacks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Denied {
    /// A short machine name, e.g. `dispose:ae-na`.
    pub permission: String,
    /// For people: what would have allowed it.
    pub reason: String,
}

impl fmt::Display for Denied {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "missing permission {}: {}", self.permission, self.reason)
    }
}

impl Caller {
    /// Who the audit trail and alerts name: the email when the token carries one.
    pub fn actor(&self) -> &str {
        self.email.as_deref().unwrap_or(&self.subject)
    }

    pub fn has(&self, role: Role) -> bool {
        self.roles.contains(&role)
    }

    pub fn on_team(&self, team: &str) -> bool {
        self.teams.contains(team)
    }

    fn admin(&self) -> bool {
        self.has(Role::Admin)
    }

    /// Accept, reject, qualify or touch a lead owned by `team` (None: a lead no team
    /// owns, which only an admin may act on). Ops act only where they are also on the
    /// team; membership of the team is what counts, whatever the role.
    pub fn may_dispose(&self, team: Option<&str>) -> Result<(), Denied> {
        match team {
            _ if self.admin() => Ok(()),
            Some(t) if self.on_team(t) => Ok(()),
            Some(t) => Err(Denied {
                permission: format!("dispose:{t}"),
                reason: format!("the lead belongs to team {t}; only its members may act on it"),
            }),
            None => Err(Denied {
                permission: "dispose:unowned".into(),
                reason: "the lead has no owning team yet; only an admin may act on it".into(),
            }),
        }
    }

    /// Read a lead (its state, packet and history): its team, or ops.
    pub fn may_read_lead(&self, team: Option<&str>) -> Result<(), Denied> {
        if self.admin() || self.has(Role::Ops) || team.is_some_and(|t| self.on_team(t)) {
            return Ok(());
        }
        Err(Denied {
            permission: format!("read_lead:{}", team.unwrap_or("unowned")),
            reason: "leads are visible to their owning team and to ops".into(),
        })
    }

    /// Read a team's queue: its members.
    pub fn may_read_queue(&self, team: &str) -> Result<(), Denied> {
        if self.admin() || self.on_team(team) {
            return Ok(());
        }
        Err(Denied {
            permission: format!("queue:{team}"),
            reason: format!("the queue of team {team} is for its members"),
        })
    }

    /// Read reports and exports, for one team or (None) for all: ops for any, a
    /// manager for their own teams.
    pub fn may_read_reports(&self, team: Option<&str>) -> Result<(), Denied> {
        if self.admin() || self.has(Role::Ops) {
            return Ok(());
        }
        match team {
            Some(t) if self.has(Role::Manager) && self.on_team(t) => Ok(()),
            Some(t) => Err(Denied {
                permission: format!("reports:{t}"),
                reason: format!("reports of team {t} are for its managers and ops"),
            }),
            None => Err(Denied {
                permission: "reports:all".into(),
                reason: if self.has(Role::Manager) {
                    "reports of all teams are for ops; name one of your teams with team=".into()
                } else {
                    "reports are for managers and ops".into()
                },
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn caller(teams: &[&str], roles: &[Role]) -> Caller {
        Caller {
            subject: "sub-1".into(),
            email: Some("sam@seller.io".into()),
            teams: teams.iter().map(|t| t.to_string()).collect(),
            roles: roles.iter().copied().collect(),
        }
    }

    #[test]
    fn every_role_gets_exactly_its_permissions() {
        let rep = caller(&["ae-na"], &[Role::Rep]);
        let other_rep = caller(&["ae-emea"], &[Role::Rep]);
        let manager = caller(&["ae-na"], &[Role::Manager]);
        let ops = caller(&[], &[Role::Ops]);
        let ops_on_team = caller(&["ae-na"], &[Role::Ops]);
        let admin = caller(&[], &[Role::Admin]);
        let na = Some("ae-na");

        // (caller, dispose, read lead, queue, team report, all reports)
        let table = [
            (&rep, true, true, true, false, false),
            (&other_rep, false, false, false, false, false),
            (&manager, true, true, true, true, false),
            (&ops, false, true, false, true, true),
            (&ops_on_team, true, true, true, true, true),
            (&admin, true, true, true, true, true),
        ];
        for (who, dispose, read, queue, team_report, all_reports) in table {
            assert_eq!(who.may_dispose(na).is_ok(), dispose, "{who:?} dispose");
            assert_eq!(who.may_read_lead(na).is_ok(), read, "{who:?} read");
            assert_eq!(who.may_read_queue("ae-na").is_ok(), queue, "{who:?} queue");
            assert_eq!(
                who.may_read_reports(na).is_ok(),
                team_report,
                "{who:?} report"
            );
            assert_eq!(
                who.may_read_reports(None).is_ok(),
                all_reports,
                "{who:?} all"
            );
        }
    }

    #[test]
    fn a_refusal_names_the_missing_permission() {
        let rep = caller(&["ae-emea"], &[Role::Rep]);
        let denied = rep.may_dispose(Some("ae-na")).unwrap_err();
        assert_eq!(denied.permission, "dispose:ae-na");
        assert!(denied.to_string().contains("dispose:ae-na"), "{denied}");
        assert_eq!(
            rep.may_dispose(None).unwrap_err().permission,
            "dispose:unowned"
        );
    }

    #[test]
    fn the_actor_is_the_email_else_the_subject() {
        let mut c = caller(&[], &[]);
        assert_eq!(c.actor(), "sam@seller.io");
        c.email = None;
        assert_eq!(c.actor(), "sub-1");
    }
}
