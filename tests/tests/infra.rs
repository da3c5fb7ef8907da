//! The table that `infra/template.yaml` declares is the table the code creates and
//! queries: names, keys, types, projections and TTL. The template is translated offline
//! with aws-sam-translator (`infra/translate.py`), exactly as CloudFormation would see it.

use std::path::Path;
use std::process::Command;

use serde_json::Value;

use leadwatch_adapters::table::table_definition;
use leadwatch_e2e::repo_root;

/// The normalised table description of a template file.
fn translated_table(template: &Path) -> Value {
    let root = repo_root();
    let venv = Command::new("bash")
        .arg(root.join("scripts/stack.sh"))
        .arg("venv")
        .status()
        .unwrap();
    assert!(venv.success(), "scripts/stack.sh venv failed");
    let out = Command::new(root.join(".venv/bin/python"))
        .arg(root.join("infra/translate.py"))
        .arg(template)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "translate.py failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn the_template_declares_exactly_the_table_the_code_uses() {
    let template = translated_table(&repo_root().join("infra/template.yaml"));
    assert_eq!(template, table_definition().normalised_json());
}

#[test]
fn renaming_an_index_on_either_side_is_caught() {
    let original = std::fs::read_to_string(repo_root().join("infra/template.yaml")).unwrap();
    assert!(
        original.contains("IndexName: team_queue"),
        "the template names the index as expected"
    );
    let renamed = original.replace("IndexName: team_queue", "IndexName: team_queue_v2");
    // Beside the original: the template's CodeUri paths are relative to its folder.
    let copy = repo_root().join(format!("infra/.renamed-{}.yaml", std::process::id()));
    std::fs::write(&copy, renamed).unwrap();
    let template = translated_table(&copy);
    let _ = std::fs::remove_file(&copy);
    assert_ne!(
        template,
        table_definition().normalised_json(),
        "a renamed index in the template"
    );

    // And the other way round: the code's description with an index renamed.
    let mut code = table_definition();
    code.indexes[0].name = "timers_v2";
    let original_template = translated_table(&repo_root().join("infra/template.yaml"));
    assert_ne!(
        original_template,
        code.normalised_json(),
        "a renamed index in the code"
    );
}

/// The whole translated CloudFormation template (`translate.py --cfn`).
fn translated_resources() -> serde_json::Map<String, Value> {
    let root = repo_root();
    translated_table(&root.join("infra/template.yaml")); // makes sure the venv is there
    let out = std::env::temp_dir().join(format!("leadwatch-cfn-{}.json", std::process::id()));
    let status = Command::new(root.join(".venv/bin/python"))
        .arg(root.join("infra/translate.py"))
        .arg(root.join("infra/template.yaml"))
        .arg("--cfn")
        .arg(&out)
        .stdout(std::process::Stdio::null())
        .status()
        .unwrap();
    assert!(status.success(), "translate.py --cfn failed");
    let template: Value = serde_json::from_slice(&std::fs::read(&out).unwrap()).unwrap();
    let _ = std::fs::remove_file(&out);
    template["Resources"].as_object().unwrap().clone()
}

/// Alerts reach the notifier through a raw, filter-less queue on the alert topic, with
/// partial batch failures, retries that outlast a lease and end in an alarmed
/// dead-letter queue: the numbers the notifier's code assumes.
#[test]
fn the_notifier_takes_every_alert_from_the_topic_and_dead_letters_what_fails() {
    use leadwatch_adapters::store::DELIVERY_RECORD_DAYS;
    use leadwatch_notifier::LEASE_SECONDS;

    let r = translated_resources();
    let props = |name: &str| r[name]["Properties"].clone();

    let sub = props("NotifySubscription");
    assert_eq!(sub["Protocol"], "sqs");
    assert_eq!(
        sub["RawMessageDelivery"], true,
        "the body is the alert document"
    );
    assert!(sub.get("FilterPolicy").is_none(), "every alert, unfiltered");
    assert_eq!(sub["TopicArn"]["Ref"], "AlertsTopic");
    assert_eq!(sub["Endpoint"]["Fn::GetAtt"][0], "NotifyQueue");

    let queue = props("NotifyQueue");
    assert_eq!(
        queue["RedrivePolicy"]["deadLetterTargetArn"]["Fn::GetAtt"][0],
        "NotifyDLQ"
    );
    let max_receives = queue["RedrivePolicy"]["maxReceiveCount"].as_i64().unwrap();
    assert!((3..=10).contains(&max_receives), "{max_receives}");
    let retention_days = queue["MessageRetentionPeriod"].as_i64().unwrap() / 86_400;
    assert!(
        retention_days < DELIVERY_RECORD_DAYS,
        "a delivery record outlives every copy of its alert on the queue"
    );

    let function = props("NotifierFunction");
    let timeout = function["Timeout"].as_i64().unwrap();
    assert!(
        LEASE_SECONDS > timeout,
        "a live notifier never loses its claim mid-send"
    );
    assert!(queue["VisibilityTimeout"].as_i64().unwrap() >= 6 * timeout);

    let mapping = r
        .values()
        .find(|v| {
            v["Type"] == "AWS::Lambda::EventSourceMapping"
                && v["Properties"]["FunctionName"]["Ref"] == "NotifierFunction"
        })
        .expect("an SQS event source mapping for the notifier");
    assert_eq!(
        mapping["Properties"]["EventSourceArn"]["Fn::GetAtt"][0],
        "NotifyQueue"
    );
    assert_eq!(
        mapping["Properties"]["FunctionResponseTypes"],
        serde_json::json!(["ReportBatchItemFailures"])
    );
    assert!(mapping["Properties"]["BatchSize"].as_i64().unwrap() <= 10);

    let alarm = r
        .values()
        .find(|v| {
            v["Type"] == "AWS::CloudWatch::Alarm"
                && v["Properties"]["Dimensions"][0]["Value"]["Fn::GetAtt"][0] == "NotifyDLQ"
        })
        .expect("an alarm on the notifier's dead-letter queue");
    assert_eq!(alarm["Properties"]["AlarmActions"][0]["Ref"], "OpsTopic");
}
