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
