#!/usr/bin/env python3
"""Translate the Leadwatch SAM template offline and describe its DynamoDB table.

    .venv/bin/python infra/translate.py [infra/template.yaml]
        prints the table the template declares, normalised (sorted keys):
        {"attribute_definitions": {name: type}, "key_schema": {"hash", "range"},
         "gsis": {name: {"hash", "range", "projection", "non_key_attributes"}},
         "ttl_attribute": name, "stream_view_type": view}
        This is the JSON `TableDefinition::normalised_json` in shared/adapters/src/table.rs
        produces for the code's table; a Rust test compares the two.

    .venv/bin/python infra/translate.py TEMPLATE --cfn OUT.json
        also writes the whole translated CloudFormation template (for cfn-lint and
        checkov in infra/check.sh).

    .venv/bin/python infra/translate.py TEMPLATE --iam [--param NAME=VALUE ...]
        prints, instead of the table, what each Lambda function's role may do:
        {"parameters": {...}, "functions": {<binary>: {"logical_id", "role",
         "managed_policies": [arn], "statements": [{"policy", "sid", "effect",
         "actions", "resources", "condition"}]}}}
        keyed by the function's binary (Metadata.BuildProperties.Binary), with every
        statement of its role: the template's own, SAM policy templates as SAM expands
        them, and what SAM adds (a dead-letter queue's, say). Intrinsics are resolved
        under the parameter values (defaults, overridden by --param): Fn::If by the
        template's Conditions, parameters and pseudo parameters by value, and a
        resource by its name in braces: "${LeadsTable.Arn}/index/*", "${AlertsTopic}".
        tests/src/iam.rs compares this with the AWS calls each function makes.

The translation is aws-sam-translator's own, run offline: no AWS credentials, no calls.
The region and partition are fixed stand-ins (us-east-1, aws), the managed-policy map is
empty (the template names no managed policy by name), and parameters without a default
get placeholder values. Any failure exits non-zero with a message on stderr.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
from pathlib import Path
from typing import Any, NoReturn

# samtranslator asks boto3 for the region to pick the partition: fix both before import.
os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
os.environ.setdefault("AWS_REGION", "us-east-1")

FAKE_REGION = "us-east-1"
FAKE_ACCOUNT = "123456789012"
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


def translate(template: dict[str, Any], parameters: dict[str, Any]) -> dict[str, Any]:
    ArnGenerator.BOTO_SESSION_REGION_NAME = FAKE_REGION
    try:
        return transform(template, parameters, StubManagedPolicyLoader())
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
            "stream_view_type": (props.get("StreamSpecification") or {}).get("StreamViewType"),
        }
    except (KeyError, TypeError) as e:
        fail(f"{logical_id}: cannot read the table definition ({type(e).__name__}: {e})")


# ------------------------------------------------------------------ IAM grants
PSEUDO_PARAMETERS = {
    "AWS::Partition": "aws",
    "AWS::Region": FAKE_REGION,
    "AWS::AccountId": FAKE_ACCOUNT,
    "AWS::URLSuffix": "amazonaws.com",
    "AWS::StackName": "leadwatch",
}
NO_VALUE = object()  # Ref AWS::NoValue: the enclosing list item or key disappears
POLICY_TYPES = ("AWS::IAM::Policy", "AWS::IAM::RolePolicy", "AWS::IAM::ManagedPolicy")


def function_binaries(template: dict[str, Any]) -> dict[str, str]:
    """Each function's binary (the name the code knows it by), by logical id."""
    binaries = {}
    for logical_id, resource in template["Resources"].items():
        if resource.get("Type") == "AWS::Serverless::Function":
            build = (resource.get("Metadata") or {}).get("BuildProperties") or {}
            binaries[logical_id] = build.get("Binary") or logical_id
    return binaries


class Resolver:
    """Resolves the intrinsics of policy statements under fixed parameter values."""

    def __init__(self, cfn: dict[str, Any], parameters: dict[str, Any]):
        self.parameters = parameters
        self.resources = set(cfn["Resources"])
        self.conditions = cfn.get("Conditions") or {}

    def condition(self, name: str) -> bool:
        if name not in self.conditions:
            fail(f"unknown condition {name!r}")
        return self.truth(self.conditions[name])

    def truth(self, expression: Any) -> bool:
        if isinstance(expression, dict) and len(expression) == 1:
            (fn, args), = expression.items()
            if fn == "Fn::Equals":
                return self.value(args[0]) == self.value(args[1])
            if fn == "Fn::Not":
                return not self.truth(args[0])
            if fn == "Fn::And":
                return all(self.truth(a) for a in args)
            if fn == "Fn::Or":
                return any(self.truth(a) for a in args)
            if fn == "Condition":
                return self.condition(args)
        fail(f"cannot evaluate the condition {expression!r}")

    def name(self, name: str, where: str) -> Any:
        """A ${...} or Ref target: a parameter's value, or the resource in braces."""
        if name in PSEUDO_PARAMETERS:
            return PSEUDO_PARAMETERS[name]
        if name in self.parameters:
            return self.parameters[name]
        if name.split(".", 1)[0] in self.resources:
            return "${" + name + "}"
        fail(f"{where}: unknown name {name!r}")

    def sub(self, args: Any) -> str:
        text, variables = (args, {}) if isinstance(args, str) else (args[0], args[1])

        def replace(match: re.Match[str]) -> str:
            inner = match.group(1)
            if inner.startswith("!"):  # ${!Literal} is the text ${Literal}
                return "${" + inner[1:] + "}"
            if inner in variables:
                return str(self.value(variables[inner]))
            return str(self.name(inner, "Fn::Sub"))

        return re.sub(r"\$\{([^}]*)\}", replace, text)

    def value(self, node: Any) -> Any:
        if isinstance(node, list):
            items = [self.value(item) for item in node]
            return [item for item in items if item is not NO_VALUE]
        if not isinstance(node, dict):
            return node
        if len(node) == 1:
            (key, args), = node.items()
            if key == "Ref":
                return NO_VALUE if args == "AWS::NoValue" else self.name(args, "Ref")
            if key == "Fn::GetAtt":
                parts = args.split(".", 1) if isinstance(args, str) else args
                return self.name(".".join(parts), "Fn::GetAtt")
            if key == "Fn::Sub":
                return self.sub(args)
            if key == "Fn::If":
                return self.value(args[1] if self.condition(args[0]) else args[2])
            if key == "Fn::Join":
                return args[0].join(str(self.value(item)) for item in args[1])
            if key.startswith("Fn::"):
                fail(f"{key} in an IAM policy is not supported by translate.py --iam")
        resolved = {key: self.value(value) for key, value in node.items()}
        return {key: value for key, value in resolved.items() if value is not NO_VALUE}


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def statements_of(document: dict[str, Any], policy: str, where: str) -> list[dict[str, Any]]:
    statements = []
    for statement in as_list(document.get("Statement", [])):
        unsupported = sorted({"NotAction", "NotResource", "Principal", "NotPrincipal"} & set(statement))
        if unsupported:
            fail(f"{where}, policy {policy}: {unsupported} in a role policy is not supported")
        statements.append({
            "policy": policy,
            "sid": statement.get("Sid"),
            "effect": statement.get("Effect"),
            "actions": as_list(statement.get("Action", [])),
            "resources": as_list(statement.get("Resource", [])),
            "condition": statement.get("Condition"),
        })
    return statements


def describe_iam(cfn: dict[str, Any], binaries: dict[str, str], parameters: dict[str, Any]) -> dict[str, Any]:
    resolver = Resolver(cfn, parameters)
    resources = cfn["Resources"]
    functions = {}
    for logical_id, function in resources.items():
        if function.get("Type") != "AWS::Lambda::Function":
            continue
        role = (function.get("Properties") or {}).get("Role")
        if not (isinstance(role, dict) and "Fn::GetAtt" in role):
            fail(f"{logical_id}: its Role {role!r} is not a role of this template, so its grants cannot be read")
        role_id = as_list(role["Fn::GetAtt"])[0].split(".", 1)[0]
        props = resolver.value(resources[role_id].get("Properties") or {})
        statements = []
        for policy in props.get("Policies", []):
            statements += statements_of(policy["PolicyDocument"], policy["PolicyName"], role_id)
        # Policies attached to the role from outside it.
        for policy_id, policy in resources.items():
            if policy.get("Type") not in POLICY_TYPES:
                continue
            policy_props = resolver.value(policy.get("Properties") or {})
            roles = as_list(policy_props.get("Roles", [])) + as_list(policy_props.get("RoleName", []))
            if "${" + role_id + "}" in roles:
                statements += statements_of(policy_props["PolicyDocument"], policy_id, role_id)
        functions[binaries.get(logical_id, logical_id)] = {
            "logical_id": logical_id,
            "role": role_id,
            "managed_policies": props.get("ManagedPolicyArns", []),
            "statements": statements,
        }
    return {"parameters": parameters, "functions": functions}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("template", nargs="?", default=str(Path(__file__).with_name("template.yaml")))
    parser.add_argument("--cfn", metavar="OUT", help="also write the translated template (JSON) here")
    parser.add_argument("--iam", action="store_true", help="print each function's IAM grants instead of the table")
    parser.add_argument(
        "--param", metavar="NAME=VALUE", action="append", default=[],
        help="a template parameter's value (repeatable); the others keep their defaults",
    )
    args = parser.parse_args()

    path = Path(args.template)
    template = load_template(path)
    parameters = parameter_values(template)
    for assignment in args.param:
        name, sep, value = assignment.partition("=")
        if not sep or name not in parameters:
            fail(f"--param {assignment!r}: expected NAME=VALUE with NAME one of {sorted(parameters)}")
        parameters[name] = value
    binaries = function_binaries(template)
    package_code(template, path.resolve().parent)
    cfn = translate(template, parameters)
    if args.cfn:
        Path(args.cfn).write_text(json.dumps(cfn, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    described = describe_iam(cfn, binaries, parameters) if args.iam else describe_table(cfn)
    print(json.dumps(described, indent=2, sort_keys=True))


if __name__ == "__main__":
    main()
