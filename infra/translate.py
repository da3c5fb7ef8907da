#!/usr/bin/env python3
"""Translate the Leadwatch SAM template offline and describe its DynamoDB table.

    .venv/bin/python infra/translate.py [infra/template.yaml]
        prints the table the template declares, normalised (sorted keys):
        {"attribute_definitions": {name: type}, "key_schema": {"hash", "range"},
         "gsis": {name: {"hash", "range", "projection", "non_key_attributes"}},
         "ttl_attribute": name}
        This is the JSON `TableDefinition::normalised_json` in shared/adapters/src/table.rs
        produces for the code's table; a Rust test compares the two.

    .venv/bin/python infra/translate.py TEMPLATE --cfn OUT.json
        also writes the whole translated CloudFormation template (for cfn-lint and
        checkov in infra/check.sh).

The translation is aws-sam-translator's own, run offline: no AWS credentials, no calls.
The region and partition are fixed stand-ins (us-east-1, aws), the managed-policy map is
empty (the template names no managed policy by name), and parameters without a default
get placeholder values. Any failure exits non-zero with a message on stderr.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any, NoReturn

# samtranslator asks boto3 for the region to pick the partition: fix both before import.
os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
os.environ.setdefault("AWS_REGION", "us-east-1")

FAKE_REGION = "us-east-1"
TABLE_TYPE = "AWS::DynamoDB::Table"
PLACEHOLDERS = {"String": "placeholder", "CommaDelimitedList": "placeholder", "Number": "1"}


def fail(message: str) -> NoReturn:
    print(f"translate.py: {message}", file=sys.stderr)
    sys.exit(1)


try:
    import yaml
    from samtranslator.model.exceptions import InvalidDocumentException
    from samtranslator.translator.arn_generator import ArnGenerator
    from samtranslator.translator.transform import transform
except ImportError as e:  # pragma: no cover - environment problem
    fail(
        f"{e}. Run it with the project virtualenv, which has aws-sam-translator "
        "(scripts/requirements-infra.txt): scripts/stack.sh venv && "
        ".venv/bin/python infra/translate.py"
    )


# ------------------------------------------------------------------ YAML with CFN tags
class CfnLoader(yaml.SafeLoader):
    """YAML loader that understands CloudFormation's short-form intrinsic tags."""


# CloudFormation reads "2010-09-09" as a string, never as a date.
CfnLoader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def _intrinsic(name: str):
    def construct(loader: yaml.Loader, node: yaml.Node) -> dict[str, Any]:
        if isinstance(node, yaml.ScalarNode):
            value: Any = loader.construct_scalar(node)
            if name == "Fn::GetAtt":
                value = value.split(".", 1)
        elif isinstance(node, yaml.SequenceNode):
            value = loader.construct_sequence(node, deep=True)
        else:
            value = loader.construct_mapping(node, deep=True)
        return {name: value}

    return construct


for _tag in (
    "Base64", "Cidr", "FindInMap", "GetAtt", "GetAZs", "ImportValue", "Join", "Select",
    "Split", "Sub", "Transform", "And", "Equals", "If", "Not", "Or", "ToJsonString",
    "Length",
):
    CfnLoader.add_constructor(f"!{_tag}", _intrinsic(f"Fn::{_tag}"))
CfnLoader.add_constructor("!Ref", _intrinsic("Ref"))
CfnLoader.add_constructor("!Condition", _intrinsic("Condition"))


def load_template(path: Path) -> dict[str, Any]:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as e:
        fail(f"cannot read {path}: {e}")
    try:
        if path.suffix == ".json":
            template = json.loads(text)
        else:
            template = yaml.load(text, Loader=CfnLoader)  # noqa: S506 - SafeLoader subclass
    except (yaml.YAMLError, json.JSONDecodeError) as e:
        fail(f"{path} is not valid YAML/JSON: {e}")
    if not isinstance(template, dict) or not isinstance(template.get("Resources"), dict):
        fail(f"{path} is not a CloudFormation template (no Resources mapping)")
    return template


# ------------------------------------------------------------------ translation
class StubManagedPolicyLoader:
    """The managed-policy map the translator asks IAM for; offline it is empty."""

    def load(self) -> dict[str, str]:
        return {}


def parameter_values(template: dict[str, Any]) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for name, spec in (template.get("Parameters") or {}).items():
        if "Default" in spec:
            values[name] = spec["Default"]
        else:
            values[name] = PLACEHOLDERS.get(spec.get("Type", "String"), "placeholder")
    return values


def package_code(template: dict[str, Any], base: Path) -> None:
    """Do what `sam package` does to local code: point CodeUri at (placeholder) S3.

    A local CodeUri must be a directory holding a Cargo.toml (rust-cargolambda builds
    there), so a wrong path fails here rather than in `sam build`.
    """
    for logical_id, resource in template["Resources"].items():
        if resource.get("Type") != "AWS::Serverless::Function":
            continue
        props = resource.setdefault("Properties", {})
        code_uri = props.get("CodeUri")
        if not isinstance(code_uri, str) or code_uri.startswith("s3://"):
            continue
        source = (base / code_uri).resolve()
        if not (source / "Cargo.toml").is_file():
            fail(f"{logical_id}: CodeUri {code_uri!r} resolves to {source}, which has no Cargo.toml")
        props["CodeUri"] = f"s3://placeholder-bucket/{logical_id}.zip"


def translate(template: dict[str, Any]) -> dict[str, Any]:
    ArnGenerator.BOTO_SESSION_REGION_NAME = FAKE_REGION
    try:
        return transform(template, parameter_values(template), StubManagedPolicyLoader())
    except InvalidDocumentException as e:
        causes = "\n".join(f"  - {c.message}" for c in e.causes)
        fail(f"SAM translation failed:\n{causes}")
    except Exception as e:  # noqa: BLE001 - any translator crash is a failed check
        fail(f"SAM translation failed: {type(e).__name__}: {e}")


# ------------------------------------------------------------------ the table
def _keys(schema: list[dict[str, str]], where: str) -> dict[str, str]:
    keys = {k["KeyType"]: k["AttributeName"] for k in schema}
    if set(keys) - {"HASH", "RANGE"} or "HASH" not in keys:
        fail(f"{where}: unexpected KeySchema {schema}")
    return {"hash": keys["HASH"], "range": keys.get("RANGE")}


def describe_table(cfn: dict[str, Any]) -> dict[str, Any]:
    tables = {k: r for k, r in cfn["Resources"].items() if r.get("Type") == TABLE_TYPE}
    if len(tables) != 1:
        fail(f"expected exactly one {TABLE_TYPE} in the translated template, found {sorted(tables)}")
    (logical_id, table), = tables.items()
    props = table.get("Properties", {})
    try:
        gsis = {}
        for index in props.get("GlobalSecondaryIndexes", []):
            projection = index["Projection"]
            gsis[index["IndexName"]] = {
                **_keys(index["KeySchema"], f"{logical_id} index {index['IndexName']}"),
                "projection": projection.get("ProjectionType", "KEYS_ONLY"),
                "non_key_attributes": sorted(projection.get("NonKeyAttributes", [])),
            }
        ttl = props.get("TimeToLiveSpecification") or {}
        return {
            "attribute_definitions": {
                a["AttributeName"]: a["AttributeType"] for a in props["AttributeDefinitions"]
            },
            "key_schema": _keys(props["KeySchema"], logical_id),
            "gsis": gsis,
            "ttl_attribute": ttl.get("AttributeName") if ttl.get("Enabled") else None,
        }
    except (KeyError, TypeError) as e:
        fail(f"{logical_id}: cannot read the table definition ({type(e).__name__}: {e})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("template", nargs="?", default=str(Path(__file__).with_name("template.yaml")))
    parser.add_argument("--cfn", metavar="OUT", help="also write the translated template (JSON) here")
    args = parser.parse_args()

    path = Path(args.template)
    template = load_template(path)
    package_code(template, path.resolve().parent)
    cfn = translate(template)
    if args.cfn:
        Path(args.cfn).write_text(json.dumps(cfn, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    print(json.dumps(describe_table(cfn), indent=2, sort_keys=True))


if __name__ == "__main__":
    main()
