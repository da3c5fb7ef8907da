//! The comparison on small hand-made inputs: each kind of finding can be produced, and
//! the IAM mapping of the operations whose action differs from their name.

use serde_json::{json, Value};

use leadwatch_adapters::calls::RecordedCall;

use super::{action_of, compare, glob, needs, Allowance, Deployment, Finding, Grants};

/// Grants as `translate.py --iam` describes them: function -> statements.
fn grants(functions: Value) -> Grants {
    let mut described = serde_json::Map::new();
    for (name, statements) in functions.as_object().unwrap() {
        described.insert(
            name.clone(),
            json!({"logical_id": name, "role": format!("{name}Role"), "managed_policies": [],
                   "statements": statements}),
        );
    }
    let json = json!({"parameters": {}, "functions": described});
    Grants::from_json(json.to_string().as_bytes()).unwrap()
}

fn allow(actions: &[&str], resources: &[&str]) -> Value {
    json!({"policy": "P", "sid": "S", "effect": "Allow", "actions": actions,
           "resources": resources, "condition": null})
}

fn dynamodb(function: &str, operation: &str, body: Value) -> RecordedCall {
    RecordedCall::of(function, "DynamoDB", operation, body.to_string().as_bytes())
}

fn deployment() -> Deployment {
    Deployment {
        table: Some("t".into()),
        topic: Some("arn:aws:sns:us-east-1:123456789012:alerts".into()),
        notify_queue: Some("http://localhost:5000/123456789012/notify".into()),
        export_queue: Some("http://localhost:5000/123456789012/exports".into()),
        export_bucket: Some("exports-b".into()),
    }
}

#[test]
fn export_calls_map_to_the_bucket_prefix_and_the_export_queue() {
    let upload = RecordedCall::of_s3("export", "UploadPart", "exports-b/exports/ex_1.csv");
    let need = &needs(&[upload], &deployment())[0];
    assert_eq!(need.action, "s3:PutObject");
    assert_eq!(need.resource, "${ExportBucket.Arn}/exports/ex_1.csv");
    let other = RecordedCall::of_s3("export", "PutObject", "elsewhere/x");
    assert!(!needs(&[other], &deployment())[0]
        .resource
        .contains("ExportBucket"));
    let send = RecordedCall::of(
        "report",
        "SQS",
        "SendMessage",
        br#"{"QueueUrl":"http://localhost:5000/123456789012/exports","MessageBody":"{}"}"#,
    );
    assert_eq!(
        needs(&[send], &deployment())[0].resource,
        "${ExportQueue.Arn}"
    );
}

const TABLE: &str = "${LeadsTable.Arn}";

#[test]
fn operations_map_to_the_actions_iam_checks() {
    assert_eq!(action_of("DynamoDB", "GetItem", None), "dynamodb:GetItem");
    assert_eq!(
        action_of("DynamoDB", "BatchGetItem", None),
        "dynamodb:BatchGetItem"
    );
    let part = |p| action_of("DynamoDB", "TransactWriteItems", Some(p));
    assert_eq!(part("Put"), "dynamodb:PutItem");
    assert_eq!(part("Update"), "dynamodb:UpdateItem");
    assert_eq!(part("Delete"), "dynamodb:DeleteItem");
    assert_eq!(part("ConditionCheck"), "dynamodb:ConditionCheckItem");
    assert_eq!(
        action_of("DynamoDB", "BatchWriteItem", Some("PutRequest")),
        "dynamodb:BatchWriteItem"
    );
    assert_eq!(action_of("SNS", "PublishBatch", None), "sns:Publish");
    assert_eq!(action_of("SSM", "GetParameter", None), "ssm:GetParameter");
}

#[test]
fn resources_are_named_as_the_template_names_them() {
    let calls = [
        dynamodb(
            "d",
            "Query",
            json!({"TableName": "t", "IndexName": "team_queue"}),
        ),
        dynamodb("d", "Query", json!({"TableName": "other"})),
        RecordedCall::of(
            "w",
            "SNS",
            "PublishBatch",
            b"TopicArn=arn%3Aaws%3Asns%3Aus-east-1%3A123456789012%3Aalerts",
        ),
        RecordedCall::of(
            "i",
            "SSM",
            "GetParameter",
            br#"{"Name":"/lw/test-1/sources/crm"}"#,
        ),
    ];
    let resources: Vec<String> = needs(&calls, &deployment())
        .into_iter()
        .map(|n| n.resource)
        .collect();
    assert!(resources.contains(&format!("{TABLE}/index/team_queue")));
    assert!(
        resources.contains(&"DynamoDB:other".to_string()),
        "{resources:?}"
    );
    assert!(resources.contains(&"${AlertsTopic}".to_string()));
    assert!(resources.contains(
        &"arn:aws:ssm:us-east-1:123456789012:parameter/leadwatch/sources/crm".to_string()
    ));
    // A suite's calls: any table is the leads table.
    let any = Deployment {
        table: None,
        ..deployment()
    };
    assert!(needs(&calls[1..2], &any)[0].resource == TABLE);
}

#[test]
fn a_call_without_a_grant_names_function_action_and_resource() {
    let calls = [dynamodb(
        "disposition",
        "BatchGetItem",
        json!({"RequestItems": {"t": {"Keys": [{"pk": {"S": "LEAD#a"}}, {"pk": {"S": "LEAD#b"}}]}}}),
    )];
    let g = grants(json!({"disposition": [allow(&["dynamodb:GetItem"], &[TABLE])]}));
    let findings = compare(&needs(&calls, &deployment()), &g, &[]);
    let missing: Vec<&Finding> = findings
        .iter()
        .filter(|f| matches!(f, Finding::NotGranted { .. }))
        .collect();
    assert_eq!(missing.len(), 1, "one finding for both keys: {findings:?}");
    let text = missing[0].to_string();
    assert!(
        text.contains("disposition")
            && text.contains("dynamodb:BatchGetItem")
            && text.contains(TABLE),
        "{text}"
    );
    // GetItem is granted and unused: that is a finding too.
    assert!(findings
        .iter()
        .any(|f| matches!(f, Finding::Unused { action, .. } if action == "dynamodb:GetItem")));
}

#[test]
fn each_part_of_a_transaction_needs_its_own_action() {
    let calls = [dynamodb(
        "ingest",
        "TransactWriteItems",
        json!({"TransactItems": [
            {"Put": {"TableName": "t", "Item": {"pk": {"S": "LEAD#a"}}}},
            {"Update": {"TableName": "t", "Key": {"pk": {"S": "METRICS#2026-11"}}}}
        ]}),
    )];
    let only_put = grants(json!({"ingest": [allow(&["dynamodb:PutItem"], &[TABLE])]}));
    let findings = compare(&needs(&calls, &deployment()), &only_put, &[]);
    assert_eq!(
        findings,
        vec![Finding::NotGranted {
            function: "ingest".into(),
            action: "dynamodb:UpdateItem".into(),
            resource: TABLE.into(),
            key: Some("METRICS#2026-11".into()),
            call: "dynamodb:TransactWriteItems (Update)".into(),
        }]
    );
    let both =
        grants(json!({"ingest": [allow(&["dynamodb:PutItem", "dynamodb:UpdateItem"], &[TABLE])]}));
    assert_eq!(compare(&needs(&calls, &deployment()), &both, &[]), vec![]);
    // A TransactWriteItems "action" grants nothing: IAM has no such action.
    let named = grants(json!({"ingest": [allow(&["dynamodb:TransactWriteItems"], &[TABLE])]}));
    let findings = compare(&needs(&calls, &deployment()), &named, &[]);
    assert_eq!(
        findings
            .iter()
            .filter(|f| matches!(f, Finding::NotGranted { .. }))
            .count(),
        2,
        "{findings:?}"
    );
}

#[test]
fn a_table_grant_does_not_cover_an_index_and_wildcards_match() {
    let calls = [dynamodb(
        "report",
        "Query",
        json!({"TableName": "t", "IndexName": "team_queue"}),
    )];
    let table_only = grants(json!({"report": [allow(&["dynamodb:Query"], &[TABLE])]}));
    assert!(compare(&needs(&calls, &deployment()), &table_only, &[])
        .iter()
        .any(|f| matches!(f, Finding::NotGranted { .. })));
    let indexes =
        grants(json!({"report": [allow(&["dynamodb:Q*"], &["${LeadsTable.Arn}/index/*"])]}));
    assert_eq!(
        compare(&needs(&calls, &deployment()), &indexes, &[]),
        vec![]
    );
    assert!(glob("dynamodb:get*", "dynamodb:GetItem", true));
    assert!(!glob(
        "${LeadsTable.Arn}",
        "${LeadsTable.Arn}/index/x",
        false
    ));
    assert!(glob("a?c*", "abcdef", false) && !glob("a?c", "ac", false));
    assert!(
        !glob("${LeadsTable.Arn}", "${LeadsTableXArn}", false),
        "only * and ? are wild"
    );
}

#[test]
fn leading_keys_conditions_confine_a_grant_to_their_keys() {
    let delete = |key: &str| {
        dynamodb(
            "watchdog",
            "DeleteItem",
            json!({"TableName": "t", "Key": {"pk": {"S": key}, "sk": {"S": "ONCE"}}}),
        )
    };
    let mut statement = allow(&["dynamodb:DeleteItem"], &[TABLE]);
    statement["condition"] =
        json!({"ForAllValues:StringLike": {"dynamodb:LeadingKeys": ["ONCE#*"]}});
    let g = grants(json!({"watchdog": [statement]}));
    assert_eq!(
        compare(&needs(&[delete("ONCE#review")], &deployment()), &g, &[]),
        vec![]
    );
    let findings = compare(&needs(&[delete("LEAD#a")], &deployment()), &g, &[]);
    assert!(
        findings
            .iter()
            .any(|f| matches!(f, Finding::NotGranted { key: Some(k), .. } if k == "LEAD#a")),
        "{findings:?}"
    );
    // A condition the check does not model is reported, never taken as a grant.
    let mut odd = allow(&["dynamodb:DeleteItem"], &[TABLE]);
    odd["condition"] = json!({"IpAddress": {"aws:SourceIp": "10.0.0.0/8"}});
    let findings = compare(
        &needs(&[delete("ONCE#r")], &deployment()),
        &grants(json!({"watchdog": [odd]})),
        &[],
    );
    assert!(findings
        .iter()
        .any(|f| matches!(f, Finding::UnsupportedCondition { .. })));
    assert!(findings
        .iter()
        .any(|f| matches!(f, Finding::NotGranted { .. })));
}

#[test]
fn allowances_managed_policies_and_silent_functions_are_checked_too() {
    let calls = [dynamodb("report", "Scan", json!({"TableName": "t"}))];
    let mut g = grants(json!({
        "report": [allow(&["dynamodb:Scan"], &[TABLE]), allow(&["kms:Decrypt"], &["${LeadwatchKey.Arn}"])],
        "watchdog": [allow(&["sns:Publish"], &["${AlertsTopic}"])]
    }));
    g.managed.push((
        "report".into(),
        "arn:aws:iam::aws:policy/AWSXrayWriteOnlyAccess".into(),
    ));
    let kms = Allowance {
        function: "*",
        grant: "kms:*",
        reason: "DynamoDB calls KMS for the caller",
    };
    let xray = Allowance {
        function: "*",
        grant: "arn:aws:iam::aws:policy/AWSXrayWriteOnlyAccess",
        reason: "Lambda sends traces",
    };
    let stale = Allowance {
        function: "report",
        grant: "dynamodb:DeleteItem",
        reason: "nothing",
    };
    let findings = compare(&needs(&calls, &deployment()), &g, &[kms, xray, stale]);
    assert_eq!(
        findings,
        vec![
            Finding::Unused {
                function: "watchdog".into(),
                action: "sns:Publish".into(),
                resource: "${AlertsTopic}".into(),
                statement: "S".into(),
            },
            Finding::StaleAllowance {
                function: "report".into(),
                grant: "dynamodb:DeleteItem".into()
            },
            Finding::NoCalls {
                function: "watchdog".into()
            },
        ],
        "the KMS grant and the managed policy are allowed; the stale entry, the silent \
         function and its unused grant are not"
    );
    let findings = compare(&needs(&calls, &deployment()), &g, &[kms]);
    assert!(findings
        .iter()
        .any(|f| matches!(f, Finding::ManagedPolicy { .. })));
}

#[test]
fn a_deny_statement_wins() {
    let calls = [dynamodb("report", "Scan", json!({"TableName": "t"}))];
    let mut deny = allow(&["dynamodb:Scan"], &["*"]);
    deny["effect"] = json!("Deny");
    let g = grants(json!({"report": [allow(&["dynamodb:Scan"], &[TABLE]), deny]}));
    let findings = compare(&needs(&calls, &deployment()), &g, &[]);
    assert!(
        findings.iter().any(|f| matches!(f, Finding::Denied { .. })),
        "{findings:?}"
    );
}

#[test]
fn a_notifier_send_needs_ses_on_the_senders_domain_and_its_backoff_the_queue() {
    let send = RecordedCall::of(
        "notifier",
        "SESv2",
        "SendEmail",
        br#"{"FromEmailAddress": "leadwatch@seller.io", "Destination": {}}"#,
    );
    let back = RecordedCall::of(
        "notifier",
        "SQS",
        "ChangeMessageVisibility",
        br#"{"QueueUrl": "http://localhost:5000/123456789012/notify", "ReceiptHandle": "r"}"#,
    );
    let needs = needs(&[send, back], &deployment());
    let found: Vec<(&str, &str)> = needs
        .iter()
        .map(|n| (n.action.as_str(), n.resource.as_str()))
        .collect();
    assert_eq!(
        found,
        vec![
            (
                "ses:SendEmail",
                "arn:aws:ses:us-east-1:123456789012:identity/seller.io"
            ),
            ("sqs:ChangeMessageVisibility", "${NotifyQueue.Arn}"),
        ]
    );
}
