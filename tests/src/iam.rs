//! IAM in step with the code: each function's grants in `infra/template.yaml`, held to
//! the AWS calls its code makes, both ways.
//!
//! moto checks no IAM, so a call the template does not grant passes every local test
//! and fails in a real account (issue 13: `GET /queue` and the export call
//! `BatchGetItem`, which the disposition and report roles lacked). The calls come from
//! [`leadwatch_adapters::calls`] (an SDK interceptor on every client of a function); the
//! grants from `infra/translate.py --iam` (the template as CloudFormation sees it, SAM
//! policy templates and SAM's own additions included). [`compare`] then reports:
//!
//! * a call no statement of the function's role allows (naming function, action,
//!   resource and the call that needed it), or one a `Deny` statement refuses;
//! * a grant (one action on one resource) that no call used, unless an [`Allowance`]
//!   says why it must stay, and an allowance that no longer matches any grant;
//! * a managed policy (its actions are not in the template) without an allowance;
//! * a condition the check cannot evaluate, and a function that made no call at all.
//!
//! Resources are compared by name in the template's terms: the table is
//! `${LeadsTable.Arn}`, an index `${LeadsTable.Arn}/index/<name>`, the topic
//! `${AlertsTopic}`, a parameter its ARN under the stand-in region and account of
//! `translate.py`. [`Deployment`] says which physical names are which.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt;
use std::path::Path;
use std::process::Command;
use std::sync::{Mutex, OnceLock, PoisonError};

use regex::{Regex, RegexBuilder};
use serde::Deserialize;
use serde_json::Value;

use leadwatch_adapters::calls::{RecordedCall, Target};

use crate::repo_root;

/// The stand-ins `infra/translate.py` resolves `${AWS::Region}` and `${AWS::AccountId}` to.
const REGION: &str = "us-east-1";
const ACCOUNT: &str = "123456789012";

/// What IAM must allow for one call (or one part of a transaction or batch).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Need {
    pub function: String,
    /// `service:Action`, as a policy names it.
    pub action: String,
    /// The resource in the template's terms (see the module docs).
    pub resource: String,
    /// The item's partition key: `dynamodb:LeadingKeys`.
    pub key: Option<String>,
    /// The call that needs it, for messages: `dynamodb:TransactWriteItems (Update)`.
    pub call: String,
}

/// Which physical resources the calls name are the template's. `None`: any of that
/// kind (a whole test suite's calls, with a table per test).
#[derive(Debug, Clone, Default)]
pub struct Deployment {
    pub table: Option<String>,
    pub topic: Option<String>,
    /// The URL of the notifier's queue.
    pub notify_queue: Option<String>,
    /// The URL of the export jobs' queue (None: any queue whose URL names `export`).
    pub export_queue: Option<String>,
    /// The export bucket (None: any bucket).
    pub export_bucket: Option<String>,
}

/// What the template's parameters are when it is translated for the comparison: the
/// signed sources' SSM prefix and the lead-id key parameter.
pub const TEMPLATE_SOURCES_PREFIX: &str = "/leadwatch/sources/";
pub const TEMPLATE_LEAD_ID_KEY: &str = "/leadwatch/lead-id-key";
/// The template's `WebhookParametersPath` (its default) and the SES identity it is
/// translated with (`NotifierEmailIdentity`, so that the notifier's email grant is in).
pub const TEMPLATE_WEBHOOKS_PATH: &str = "/leadwatch/webhooks";
pub const TEMPLATE_EMAIL_IDENTITY: &str = "seller.io";
/// The template's `WebSecretParameter` (its default), and the `WebAppUrl` it is
/// translated with (so that the watchdog's statement for the alerts' links is in).
pub const TEMPLATE_WEB_SECRET: &str = "/leadwatch/web-secret";
pub const TEMPLATE_APP_URL: &str = "https://leadwatch.example.com";

/// The template's name for an SSM parameter a test named: tests name their parameters
/// `<anything>/sources/<source>`, `<anything>/lead-id-key` and
/// `<anything>/webhooks/<channel>` and `<anything>/web-secret`, as a deployment names
/// them under its prefixes and key parameters.
fn template_parameter(name: &str) -> Option<String> {
    if name.ends_with("/lead-id-key") {
        return Some(TEMPLATE_LEAD_ID_KEY.to_string());
    }
    if name.ends_with("/web-secret") {
        return Some(TEMPLATE_WEB_SECRET.to_string());
    }
    if let Some((_, channel)) = name.split_once("/webhooks/") {
        return Some(format!("{TEMPLATE_WEBHOOKS_PATH}/{channel}"));
    }
    let (_, source) = name.split_once("/sources/")?;
    Some(format!("{TEMPLATE_SOURCES_PREFIX}{source}"))
}

impl Deployment {
    fn resource(&self, service: &str, target: &Target) -> String {
        let is = |name: &Option<String>| name.as_deref().is_none_or(|n| n == target.resource);
        match service {
            "DynamoDB" if is(&self.table) => match &target.index {
                Some(index) => format!("${{LeadsTable.Arn}}/index/{index}"),
                None => "${LeadsTable.Arn}".to_string(),
            },
            "SNS" if is(&self.topic) => "${AlertsTopic}".to_string(),
            "SQS"
                if self
                    .export_queue
                    .as_deref()
                    .map_or(target.resource.contains("export"), |q| q == target.resource) =>
            {
                "${ExportQueue.Arn}".to_string()
            }
            // S3 calls are recorded as `<bucket>/<key>`.
            "S3" if {
                let bucket = target.resource.split('/').next().unwrap_or_default();
                self.export_bucket.as_deref().is_none_or(|b| b == bucket)
            } =>
            {
                match target.resource.split_once('/') {
                    Some((_, key)) => format!("${{ExportBucket.Arn}}/{key}"),
                    None => "${ExportBucket.Arn}".to_string(),
                }
            }
            "SQS" if is(&self.notify_queue) => "${NotifyQueue.Arn}".to_string(),
            // SES authorizes a send on the identity of its sender: a domain identity
            // covers every address of the domain.
            "SESv2"
                if target
                    .resource
                    .ends_with(&format!("@{TEMPLATE_EMAIL_IDENTITY}")) =>
            {
                format!("arn:aws:ses:{REGION}:{ACCOUNT}:identity/{TEMPLATE_EMAIL_IDENTITY}")
            }
            "SSM" if template_parameter(&target.resource).is_some() => format!(
                "arn:aws:ssm:{REGION}:{ACCOUNT}:parameter{}",
                template_parameter(&target.resource).unwrap_or_default()
            ),
            // Not a resource of the template: no grant matches it, and the message
            // shows what the code called.
            _ => format!("{service}:{}", target.resource),
        }
    }
}

/// The IAM action a call (or one part of it) needs. Where the two differ, the reason is
/// AWS's documentation:
///
/// * DynamoDB transactions have no action of their own: "Permissions for Put, Update,
///   Delete, and Get actions are governed by the permissions used for the underlying
///   PutItem, UpdateItem, DeleteItem, and GetItem operations. For the ConditionCheck
///   action, you can use the dynamodb:ConditionCheckItem permission"
///   (<https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/transaction-apis-iam.html>).
///   So each part of a `TransactWriteItems` needs its own action.
/// * `BatchGetItem` and `BatchWriteItem` are actions of their own (the Service
///   Authorization Reference lists both); GetItem/PutItem do not cover them.
/// * SNS: "sns:Publish Grants permission to both publish and publish batch to a topic"
///   (<https://docs.aws.amazon.com/sns/latest/dg/sns-access-policy-language-api-permissions-reference.html>).
pub fn action_of(service: &str, operation: &str, part: Option<&str>) -> String {
    let action = match (service, operation, part) {
        ("DynamoDB", "TransactWriteItems" | "TransactGetItems", Some(part)) => match part {
            "Put" => "PutItem",
            "Update" => "UpdateItem",
            "Delete" => "DeleteItem",
            "ConditionCheck" => "ConditionCheckItem",
            "Get" => "GetItem",
            // An unknown part: name it, so the finding shows it.
            other => other,
        },
        ("SNS", "PublishBatch", _) => "Publish",
        // "s3:PutObject ... CreateMultipartUpload, UploadPart, CompleteMultipartUpload"
        // (the Service Authorization Reference lists them under PutObject).
        ("S3", "CreateMultipartUpload" | "UploadPart" | "CompleteMultipartUpload", _) => {
            "PutObject"
        }
        (_, operation, _) => operation,
    };
    format!("{}:{action}", prefix_of(service))
}

/// The IAM service prefix of an SDK service name (`DynamoDB`, `SNS`, `SSM`, `SQS`): the
/// same letters in lower case, except SES v2's.
fn prefix_of(service: &str) -> String {
    match service {
        // SES v2's API has the IAM prefix of SES.
        "SESv2" => "ses".to_string(),
        other => other.to_ascii_lowercase(),
    }
}

/// What IAM must allow for the recorded calls under `deployment`, each need once.
pub fn needs(calls: &[RecordedCall], deployment: &Deployment) -> Vec<Need> {
    let mut needs = BTreeSet::new();
    for call in calls {
        let name = format!("{}:{}", prefix_of(&call.service), call.operation);
        if call.targets.is_empty() {
            needs.insert(Need {
                function: call.function.clone(),
                action: action_of(&call.service, &call.operation, None),
                resource: "*".to_string(),
                key: None,
                call: name.clone(),
            });
        }
        for target in &call.targets {
            needs.insert(Need {
                function: call.function.clone(),
                action: action_of(&call.service, &call.operation, target.part.as_deref()),
                resource: deployment.resource(&call.service, target),
                key: target.key.clone(),
                call: match &target.part {
                    Some(part) => format!("{name} ({part})"),
                    None => name.clone(),
                },
            });
        }
    }
    needs.into_iter().collect()
}

/// One action on one resource, allowed (or denied) by one statement of a role.
#[derive(Debug, Clone, PartialEq)]
pub struct Grant {
    pub function: String,
    pub role: String,
    /// The statement's `Sid`, or its policy's name and position.
    pub statement: String,
    pub allow: bool,
    pub action: String,
    pub resource: String,
    pub condition: Option<Value>,
}

/// Every function's grants in a template.
#[derive(Debug, Clone, Default)]
pub struct Grants {
    pub grants: Vec<Grant>,
    /// (function, managed policy ARN)
    pub managed: Vec<(String, String)>,
    pub functions: BTreeSet<String>,
}

#[derive(Deserialize)]
struct Described {
    functions: BTreeMap<String, DescribedFunction>,
}

#[derive(Deserialize)]
struct DescribedFunction {
    role: String,
    managed_policies: Vec<String>,
    statements: Vec<DescribedStatement>,
}

#[derive(Deserialize)]
struct DescribedStatement {
    policy: String,
    sid: Option<String>,
    effect: String,
    actions: Vec<String>,
    resources: Vec<String>,
    condition: Option<Value>,
}

impl Grants {
    /// The grants of `template` translated with the optional parameters set (so that
    /// their statements are in), read through `infra/translate.py --iam`.
    pub fn of_template(template: &Path) -> Result<Grants, String> {
        let root = repo_root();
        let out = Command::new(root.join(".venv/bin/python"))
            .arg(root.join("infra/translate.py"))
            .arg(template)
            .arg("--iam")
            .arg("--param")
            .arg(format!("SourceSecretsPrefix={TEMPLATE_SOURCES_PREFIX}"))
            .arg("--param")
            .arg(format!("LeadIdKeyParameter={TEMPLATE_LEAD_ID_KEY}"))
            .arg("--param")
            .arg(format!("NotifierEmailIdentity={TEMPLATE_EMAIL_IDENTITY}"))
            .arg("--param")
            .arg(format!("WebAppUrl={TEMPLATE_APP_URL}"))
            .output()
            .map_err(|e| format!("cannot run infra/translate.py: {e}"))?;
        if !out.status.success() {
            return Err(format!(
                "infra/translate.py --iam failed: {}",
                String::from_utf8_lossy(&out.stderr)
            ));
        }
        Grants::from_json(&out.stdout)
    }

    /// The grants of `translate.py --iam`'s output.
    pub fn from_json(json: &[u8]) -> Result<Grants, String> {
        let described: Described =
            serde_json::from_slice(json).map_err(|e| format!("translate.py --iam: {e}"))?;
        let mut grants = Grants::default();
        for (function, f) in described.functions {
            for (i, s) in f.statements.into_iter().enumerate() {
                let statement = s.sid.unwrap_or_else(|| format!("{} #{}", s.policy, i + 1));
                for action in &s.actions {
                    for resource in &s.resources {
                        grants.grants.push(Grant {
                            function: function.clone(),
                            role: f.role.clone(),
                            statement: statement.clone(),
                            allow: s.effect == "Allow",
                            action: action.clone(),
                            resource: resource.clone(),
                            condition: s.condition.clone(),
                        });
                    }
                }
            }
            for arn in f.managed_policies {
                grants.managed.push((function.clone(), arn));
            }
            grants.functions.insert(function);
        }
        Ok(grants)
    }
}

/// A grant that stays although no call uses it, and why.
#[derive(Debug, Clone, Copy)]
pub struct Allowance {
    /// A function, or `*` for every one.
    pub function: &'static str,
    /// An action (IAM wildcards allowed) or a managed policy's ARN.
    pub grant: &'static str,
    pub reason: &'static str,
}

impl Allowance {
    fn covers(&self, function: &str, grant: &str) -> bool {
        (self.function == "*" || self.function == function) && glob(self.grant, grant, true)
    }
}

/// Something that is out of step.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum Finding {
    NotGranted {
        function: String,
        action: String,
        resource: String,
        key: Option<String>,
        call: String,
    },
    Denied {
        function: String,
        action: String,
        resource: String,
        statement: String,
    },
    Unused {
        function: String,
        action: String,
        resource: String,
        statement: String,
    },
    ManagedPolicy {
        function: String,
        arn: String,
    },
    StaleAllowance {
        function: String,
        grant: String,
    },
    UnsupportedCondition {
        function: String,
        statement: String,
        problem: String,
    },
    NoCalls {
        function: String,
    },
}

impl fmt::Display for Finding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Finding::NotGranted { function, action, resource, key, call } => {
                write!(f, "{function}: calls {action} on {resource}")?;
                if let Some(key) = key {
                    write!(f, " (key {key})")?;
                }
                if call != action {
                    write!(f, " for {call}")?;
                }
                write!(f, ", but no statement of its role allows it: grant it in infra/template.yaml")
            }
            Finding::Denied { function, action, resource, statement } => write!(
                f,
                "{function}: calls {action} on {resource}, which statement {statement} denies"
            ),
            Finding::Unused { function, action, resource, statement } => write!(
                f,
                "{function}: statement {statement} grants {action} on {resource}, which no call uses: \
                 remove it, or allow it in the test's allowlist with the reason it must stay"
            ),
            Finding::ManagedPolicy { function, arn } => write!(
                f,
                "{function}: managed policy {arn} grants actions this check cannot see: \
                 allowlist it with a reason, or replace it with statements"
            ),
            Finding::StaleAllowance { function, grant } => write!(
                f,
                "allowlist entry ({function}, {grant}) matches no grant of the template: remove it"
            ),
            Finding::UnsupportedCondition { function, statement, problem } => write!(
                f,
                "{function}: statement {statement}: {problem}; the check counts it as allowing nothing"
            ),
            Finding::NoCalls { function } => write!(
                f,
                "{function}: no call was recorded, so its grants are unchecked (is the \
                 scenario missing it, or are its clients not built by leadwatch_adapters::aws?)"
            ),
        }
    }
}

/// IAM's wildcard match: `*` any run of characters, `?` one, everything else itself.
/// Actions compare without regard to case, as IAM compares them.
pub fn glob(pattern: &str, text: &str, ignore_case: bool) -> bool {
    // A template has a few dozen patterns and a run compares each thousands of times:
    // each is compiled once.
    type Compiled = HashMap<(String, bool), Option<Regex>>;
    static COMPILED: OnceLock<Mutex<Compiled>> = OnceLock::new();
    let mut compiled = COMPILED
        .get_or_init(Mutex::default)
        .lock()
        .unwrap_or_else(PoisonError::into_inner);
    compiled
        .entry((pattern.to_string(), ignore_case))
        .or_insert_with(|| {
            let translated = regex::escape(pattern)
                .replace(r"\*", ".*")
                .replace(r"\?", ".");
            RegexBuilder::new(&format!("^{translated}$"))
                .case_insensitive(ignore_case)
                .build()
                .ok()
        })
        .as_ref()
        .is_some_and(|r| r.is_match(text))
}

/// Whether `condition` holds for `need`. `Err` names what the check does not model.
///
/// Modelled: `dynamodb:LeadingKeys` with `StringEquals`/`StringLike`, plain or
/// `ForAllValues:`. A need without a key (a query or scan) is not covered by such a
/// condition. That is stricter than IAM, where `ForAllValues` over an absent key is
/// true, and deliberately so: a key condition meant to confine a role is not a grant
/// to scan the table.
fn condition_holds(condition: &Value, need: &Need) -> Result<bool, String> {
    let Some(operators) = condition.as_object() else {
        return Err(format!("condition {condition} is not an object"));
    };
    for (operator, keys) in operators {
        let like = match operator.as_str() {
            "StringEquals" | "ForAllValues:StringEquals" => false,
            "StringLike" | "ForAllValues:StringLike" => true,
            other => return Err(format!("condition operator {other} is not modelled")),
        };
        for (key, values) in keys.as_object().into_iter().flatten() {
            if key != "dynamodb:LeadingKeys" {
                return Err(format!("condition key {key} is not modelled"));
            }
            let patterns: Vec<&str> = match values {
                Value::String(s) => vec![s.as_str()],
                Value::Array(items) => items.iter().filter_map(Value::as_str).collect(),
                other => return Err(format!("condition values {other} are not strings")),
            };
            let Some(item) = &need.key else {
                return Ok(false);
            };
            let matches = |p: &&str| {
                if like {
                    glob(p, item, false)
                } else {
                    *p == item
                }
            };
            if !patterns.iter().any(matches) {
                return Ok(false);
            }
        }
    }
    Ok(true)
}

/// Whether `grant` applies to `need` (`Err`: it has a condition the check cannot read).
fn applies(grant: &Grant, need: &Need) -> Result<bool, String> {
    if grant.function != need.function
        || !glob(&grant.action, &need.action, true)
        || !glob(&grant.resource, &need.resource, false)
    {
        return Ok(false);
    }
    match &grant.condition {
        None => Ok(true),
        Some(condition) => condition_holds(condition, need),
    }
}

/// For each grant, whether it allows at least one of `needs`.
pub fn used(needs: &[Need], grants: &Grants) -> Vec<bool> {
    grants
        .grants
        .iter()
        .map(|g| g.allow && needs.iter().any(|n| applies(g, n) == Ok(true)))
        .collect()
}

/// Everything out of step between `needs` and `grants`, sorted, each once.
pub fn compare(needs: &[Need], grants: &Grants, allowances: &[Allowance]) -> Vec<Finding> {
    let mut findings = BTreeSet::new();
    let mut used = vec![false; grants.grants.len()];
    for need in needs {
        let mut allowed = false;
        for (i, grant) in grants.grants.iter().enumerate() {
            match applies(grant, need) {
                Ok(false) => {}
                Ok(true) if grant.allow => {
                    allowed = true;
                    used[i] = true;
                }
                Ok(true) => {
                    findings.insert(Finding::Denied {
                        function: need.function.clone(),
                        action: need.action.clone(),
                        resource: need.resource.clone(),
                        statement: grant.statement.clone(),
                    });
                }
                Err(problem) => {
                    findings.insert(Finding::UnsupportedCondition {
                        function: grant.function.clone(),
                        statement: grant.statement.clone(),
                        problem,
                    });
                }
            }
        }
        if !allowed {
            // One finding per action and resource; the first call shows an example.
            let reported = findings.iter().any(|f| {
                matches!(f, Finding::NotGranted { function, action, resource, .. }
                    if *function == need.function && *action == need.action && *resource == need.resource)
            });
            if !reported {
                findings.insert(Finding::NotGranted {
                    function: need.function.clone(),
                    action: need.action.clone(),
                    resource: need.resource.clone(),
                    key: need.key.clone(),
                    call: need.call.clone(),
                });
            }
        }
    }
    for (grant, used) in grants.grants.iter().zip(&used) {
        let allowed = allowances
            .iter()
            .any(|a| a.covers(&grant.function, &grant.action));
        if grant.allow && !used && !allowed {
            findings.insert(Finding::Unused {
                function: grant.function.clone(),
                action: grant.action.clone(),
                resource: grant.resource.clone(),
                statement: grant.statement.clone(),
            });
        }
    }
    for (function, arn) in &grants.managed {
        if !allowances.iter().any(|a| a.covers(function, arn)) {
            findings.insert(Finding::ManagedPolicy {
                function: function.clone(),
                arn: arn.clone(),
            });
        }
    }
    for allowance in allowances {
        let matches_grant = grants
            .grants
            .iter()
            .any(|g| allowance.covers(&g.function, &g.action))
            || grants
                .managed
                .iter()
                .any(|(f, arn)| allowance.covers(f, arn));
        if !matches_grant {
            findings.insert(Finding::StaleAllowance {
                function: allowance.function.to_string(),
                grant: allowance.grant.to_string(),
            });
        }
    }
    for function in &grants.functions {
        if !needs.iter().any(|n| n.function == *function) {
            findings.insert(Finding::NoCalls {
                function: function.clone(),
            });
        }
    }
    findings.into_iter().collect()
}

/// The findings as the failure message: one line each.
pub fn report(findings: &[Finding]) -> String {
    let lines: Vec<String> = findings.iter().map(|f| format!("  - {f}")).collect();
    format!(
        "IAM is out of step with the code ({} findings):\n{}",
        findings.len(),
        lines.join("\n")
    )
}

#[cfg(test)]
mod tests;
