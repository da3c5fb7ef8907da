#!/usr/bin/env python3
"""Check docs/openapi.yaml: a valid OpenAPI 3.1 document that describes exactly the
routes infra/template.yaml gives the HTTP API.

    .venv/bin/python infra/check_openapi.py [--spec docs/openapi.yaml]
            [--template infra/template.yaml] [--cfn TRANSLATED.json]
        1. validates the document with openapi-spec-validator (as OpenAPI 3.1), and every
           parameter, request and response example against its schema;
        2. translates the SAM template offline (infra/translate.py; or reads the already
           translated template given with --cfn) and takes the routes of its HTTP API;
        3. compares, route by route (METHOD path): present on both sides, the same owning
           function (the document's `x-leadwatch-function` against the function's
           `Metadata.BuildProperties.Binary`), the same authorisation (the document's
           effective `security` against the route's authorizer; `Authorizer: NONE` is
           `security: []`).
        Exits 1 naming every difference.

    .venv/bin/python infra/check_openapi.py --operations [--spec docs/openapi.yaml]
        validates the document and prints its operations as JSON for
        tests/tests/openapi.rs: method, path, function, path and query parameter
        examples, every request body example encoded as it goes on the wire (with the
        signed source that sends it, `x-leadwatch-source`, if any), and the documented
        response status codes.

    .venv/bin/python infra/check_openapi.py --responses FILE [--spec docs/openapi.yaml]
        checks answers the handlers gave (a JSON list of {method, path, status,
        content_type, body}; FILE `-` is stdin) against the documented responses: status
        listed, media type documented, JSON bodies valid against their schema taken as
        closed (a member the document does not describe is reported).

Runs offline, with the project virtualenv (scripts/requirements*.txt: openapi-spec-validator,
aws-sam-translator, PyYAML).
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path
from typing import Any, NoReturn
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_SPEC = ROOT / "docs" / "openapi.yaml"
DEFAULT_TEMPLATE = ROOT / "infra" / "template.yaml"
METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
PUBLIC = "public"


def fail(message: str) -> NoReturn:
    print(f"check_openapi.py: {message}", file=sys.stderr)
    sys.exit(1)


try:
    import yaml
    from openapi_schema_validator import OAS31Validator, oas31_format_checker
    from openapi_spec_validator import OpenAPIV31SpecValidator, validate
except ImportError as e:  # pragma: no cover - environment problem
    fail(
        f"{e}. Run it with the project virtualenv, which has openapi-spec-validator and "
        "PyYAML (scripts/requirements*.txt): scripts/stack.sh venv && "
        ".venv/bin/python infra/check_openapi.py"
    )


# ------------------------------------------------------------------ the document
def load_spec(path: Path) -> dict[str, Any]:
    try:
        spec = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as e:
        fail(f"cannot read {path}: {e}")
    if not isinstance(spec, dict):
        fail(f"{path} is not a YAML mapping")
    if not str(spec.get("openapi", "")).startswith("3.1."):
        fail(f"{path}: `openapi` is {spec.get('openapi')!r}; this project writes OpenAPI 3.1.x")
    try:
        # JSON round trip: YAML-only values (dates, non-string keys) are errors here,
        # not surprises in a client generator.
        json.dumps(spec)
    except (TypeError, ValueError) as e:
        fail(f"{path} holds a value JSON cannot carry (quote dates and times): {e}")
    try:
        validate(spec, base_uri=path.resolve().as_uri(), cls=OpenAPIV31SpecValidator)
    except Exception as e:  # noqa: BLE001 - every validator error is a failed check
        # Some errors quote the whole document; the first lines say what is wrong.
        message = re.sub(r" (does not exist )?within \{.*", r" \1in the document", str(e), flags=re.S)
        fail(f"{path} is not a valid OpenAPI 3.1 document: {type(e).__name__}: {message[:3000]}")
    problems = example_problems(spec)
    if problems:
        for p in problems:
            print(f"check_openapi.py: {p}", file=sys.stderr)
        fail(f"{path}: {len(problems)} example(s) do not match their schema")
    return spec


def schema_validator(schema: dict[str, Any], components: dict[str, Any]) -> Any:
    """A JSON Schema (OpenAPI 3.1 dialect) validator whose `#/components/...`
    references resolve against the document's components."""
    return OAS31Validator({**schema, "components": components}, format_checker=oas31_format_checker)


def example_problems(spec: dict[str, Any]) -> list[str]:
    """Every parameter, request body and response example checked against its schema
    (openapi-spec-validator checks the document's structure, not its examples)."""
    components = spec.get("components") or {}
    problems: list[str] = []

    def check(node: dict[str, Any], where: str) -> None:
        schema = node.get("schema")
        if schema is None:
            return
        validator = schema_validator(schema, components)
        for name, value in example_of(spec, node, from_schema=False):
            for error in validator.iter_errors(value):
                at = "/".join(str(p) for p in error.absolute_path) or "(root)"
                problems.append(f"{where} example {name!r} at {at}: {error.message}")

    for path, item in (spec.get("paths") or {}).items():
        item = resolve(spec, item)
        for method in METHODS:
            if method not in item:
                continue
            operation, route = item[method], f"{method.upper()} {path}"
            for p in item.get("parameters", []) + operation.get("parameters", []):
                p = resolve(spec, p)
                check(p, f"{route} parameter {p['name']}")
            body = resolve(spec, operation.get("requestBody") or {})
            for content_type, media in (body.get("content") or {}).items():
                check(resolve(spec, media), f"{route} request {content_type}")
            for status, response in (operation.get("responses") or {}).items():
                response = resolve(spec, response)
                for content_type, media in (response.get("content") or {}).items():
                    check(resolve(spec, media), f"{route} response {status} {content_type}")
    return problems


def resolve(spec: dict[str, Any], node: Any, seen: tuple[str, ...] = ()) -> Any:
    """Follow a local `$ref` (`#/components/...`) until a node without one."""
    while isinstance(node, dict) and "$ref" in node:
        ref = node["$ref"]
        if not isinstance(ref, str) or not ref.startswith("#/") or ref in seen:
            fail(f"unsupported or circular $ref {ref!r}")
        seen += (ref,)
        target: Any = spec
        for part in ref[2:].split("/"):
            part = part.replace("~1", "/").replace("~0", "~")
            if not isinstance(target, dict) or part not in target:
                fail(f"$ref {ref!r} points nowhere")
            target = target[part]
        node = target
    return node


def effective_auth(spec: dict[str, Any], operation: dict[str, Any], where: str) -> str:
    """`public`, or the sorted names of the security schemes the operation requires."""
    requirements = operation.get("security", spec.get("security", []))
    if not requirements or any(not r for r in requirements):
        return PUBLIC
    schemes = (spec.get("components") or {}).get("securitySchemes") or {}
    names = sorted({name for r in requirements for name in r})
    for name in names:
        if name not in schemes:
            fail(f"{where}: security names {name!r}, which components.securitySchemes lacks")
    return "+".join(names)


def spec_routes(spec: dict[str, Any]) -> dict[str, dict[str, str]]:
    """`METHOD path` -> {function, auth} of every operation of the document."""
    routes: dict[str, dict[str, str]] = {}
    for path, item in (spec.get("paths") or {}).items():
        item = resolve(spec, item)
        for method in METHODS:
            if method not in item:
                continue
            operation = item[method]
            route = f"{method.upper()} {path}"
            function = operation.get("x-leadwatch-function")
            if not isinstance(function, str) or not function:
                fail(f"{route}: the operation lacks `x-leadwatch-function` (the function that serves it)")
            routes[route] = {"function": function, "auth": effective_auth(spec, operation, route)}
    if not routes:
        fail("the document has no operations")
    return routes


# ------------------------------------------------------------------ the template
def template_routes(template_path: Path, cfn_path: Path | None) -> dict[str, dict[str, str]]:
    """`METHOD path` -> {function, auth} of every route of the template's HTTP APIs."""
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    import translate  # infra/translate.py: the offline SAM translation and CFN YAML loader

    sam = translate.load_template(template_path)
    if cfn_path is not None:
        try:
            cfn = json.loads(cfn_path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as e:
            fail(f"cannot read the translated template {cfn_path}: {e}")
    else:
        copy = json.loads(json.dumps(sam))  # translation mutates its input
        translate.package_code(copy, template_path.resolve().parent)
        cfn = translate.translate(copy, translate.parameter_values(copy))

    binaries = {
        logical_id: ((r.get("Metadata") or {}).get("BuildProperties") or {}).get("Binary")
        for logical_id, r in sam["Resources"].items()
        if r.get("Type") == "AWS::Serverless::Function"
    }
    routes: dict[str, dict[str, str]] = {}
    apis = {k: r for k, r in cfn["Resources"].items() if r.get("Type") == "AWS::ApiGatewayV2::Api"}
    if not apis:
        fail(f"{template_path}: no HTTP API (AWS::ApiGatewayV2::Api) after translation")
    for api_id, api in apis.items():
        body = (api.get("Properties") or {}).get("Body")
        if not isinstance(body, dict):
            fail(f"{template_path}: {api_id} has no OpenAPI Body after translation")
        for path, item in (body.get("paths") or {}).items():
            for method, operation in item.items():
                if method == "x-amazon-apigateway-any-method":
                    method = "any"
                elif method not in METHODS:
                    continue
                route = f"{method.upper()} {path}"
                uri = json.dumps((operation.get("x-amazon-apigateway-integration") or {}).get("uri"))
                targets = set(re.findall(r"\$\{(\w+)\.Arn\}", uri))
                if len(targets) != 1:
                    fail(f"{template_path}: {route} integrates with {uri}, not one function")
                (target,) = targets
                function = binaries.get(target) or target
                security = operation.get("security", body.get("security", []))
                names = sorted({name for r in security for name in r})
                auth = PUBLIC if not names or names == ["NONE"] else "+".join(n for n in names if n != "NONE")
                routes[route] = {"function": function, "auth": auth}
    return routes


def shown(path: Path) -> str:
    """A path as messages show it: relative to the repository when inside it."""
    try:
        return path.resolve().relative_to(ROOT).as_posix()
    except ValueError:
        return path.as_posix()


def compare(spec_path: Path, spec: dict[str, Any], template_path: Path, cfn_path: Path | None) -> None:
    documented = spec_routes(spec)
    deployed = template_routes(template_path, cfn_path)
    doc, tpl = shown(spec_path), shown(template_path)
    problems = []
    for route in sorted(documented.keys() - deployed.keys()):
        problems.append(f"{route} is in {doc} but not in {tpl}")
    for route in sorted(deployed.keys() - documented.keys()):
        problems.append(f"{route} is in {tpl} but not in {doc}")
    for route in sorted(documented.keys() & deployed.keys()):
        d, t = documented[route], deployed[route]
        if d["function"] != t["function"]:
            problems.append(
                f"{route}: {doc} says function {d['function']!r} (x-leadwatch-function), "
                f"{tpl} routes it to {t['function']!r}"
            )
        if d["auth"] != t["auth"]:
            problems.append(f"{route}: {doc} says auth {d['auth']!r}, {tpl} says {t['auth']!r}")
    if problems:
        for p in problems:
            print(f"check_openapi.py: {p}", file=sys.stderr)
        fail(f"{len(problems)} difference(s) between {doc} and {tpl}")
    by_function: dict[str, int] = {}
    for r in documented.values():
        by_function[r["function"]] = by_function.get(r["function"], 0) + 1
    summary = ", ".join(f"{f} {n}" for f, n in sorted(by_function.items()))
    print(f"{doc}: valid OpenAPI {spec['openapi']}; its {len(documented)} routes are the template's ({summary})")
    for route in sorted(documented, key=lambda r: (r.split(" ", 1)[1], r)):
        print(f"  {route:32} {documented[route]['function']:12} {documented[route]['auth']}")


# ------------------------------------------------------------------ --operations
def example_of(spec: dict[str, Any], node: dict[str, Any], from_schema: bool = True) -> list[tuple[str, Any]]:
    """The named examples of a parameter or media type: `example`, else `examples`, else
    (with `from_schema`) the first of its schema's `examples`."""
    if "example" in node:
        return [("example", node["example"])]
    out = []
    for name, ex in (node.get("examples") or {}).items():
        ex = resolve(spec, ex)
        if "value" in ex:
            out.append((name, ex["value"]))
    schema = resolve(spec, node.get("schema") or {})
    if from_schema and not out and schema.get("examples"):
        out.append(("schema", schema["examples"][0]))
    return out


MULTIPART_BOUNDARY = "leadwatch-example-boundary"


def wire_content_type(content_type: str) -> str:
    """The Content-Type an example goes with: multipart bodies need their boundary."""
    if content_type == "multipart/form-data":
        return f"{content_type}; boundary={MULTIPART_BOUNDARY}"
    return content_type


def encode_body(content_type: str, value: Any, where: str) -> str:
    if content_type == "application/json":
        return json.dumps(value)
    if content_type in ("application/x-www-form-urlencoded", "multipart/form-data"):
        if not isinstance(value, dict):
            fail(f"{where}: a form example must be a mapping of field to text")
        fields = {k: "" if v is None else str(v) for k, v in value.items()}
        if content_type == "application/x-www-form-urlencoded":
            return urlencode(fields)
        parts = [
            f'--{MULTIPART_BOUNDARY}\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n{v}\r\n'
            for k, v in fields.items()
        ]
        return "".join(parts) + f"--{MULTIPART_BOUNDARY}--\r\n"
    if isinstance(value, str):
        return value
    fail(f"{where}: cannot encode an example for {content_type}")


def example_sources(spec: dict[str, Any], media: dict[str, Any]) -> dict[str, str]:
    """Example name -> the signed source that sends it (`x-leadwatch-source`)."""
    out = {}
    for name, ex in (media.get("examples") or {}).items():
        source = resolve(spec, ex).get("x-leadwatch-source")
        if source:
            out[name] = str(source)
    return out


def operations(spec: dict[str, Any]) -> list[dict[str, Any]]:
    out = []
    for path, item in (spec.get("paths") or {}).items():
        item = resolve(spec, item)
        for method in METHODS:
            if method not in item:
                continue
            operation = item[method]
            where = f"{method.upper()} {path}"
            params = [resolve(spec, p) for p in item.get("parameters", []) + operation.get("parameters", [])]
            path_params, query = {}, {}
            for p in params:
                examples = example_of(spec, p)
                if p["in"] == "path":
                    if not examples:
                        fail(f"{where}: path parameter {p['name']!r} needs an example (the tests use it)")
                    path_params[p["name"]] = str(examples[0][1])
                elif p["in"] == "query" and examples:
                    query[p["name"]] = str(examples[0][1])
            requests = []
            body = resolve(spec, operation.get("requestBody") or {})
            for content_type, media in (body.get("content") or {}).items():
                media = resolve(spec, media)
                examples = example_of(spec, media)
                sources = example_sources(spec, media)
                if not examples:
                    fail(f"{where}: request body {content_type} needs an example (the tests send it)")
                for name, value in examples:
                    requests.append(
                        {
                            "name": name,
                            "content_type": wire_content_type(content_type),
                            "body": encode_body(content_type, value, f"{where} {content_type} {name}"),
                            "source": sources.get(name),
                        }
                    )
            if not requests:
                requests.append({"name": "no body", "content_type": None, "body": None, "source": None})
            out.append(
                {
                    "method": method.upper(),
                    "path": path,
                    "function": operation.get("x-leadwatch-function"),
                    "path_params": path_params,
                    "query": query,
                    "requests": requests,
                    "responses": sorted(str(code) for code in (operation.get("responses") or {})),
                }
            )
    return out


# ------------------------------------------------------------------ --responses
def closed(schema: Any) -> Any:
    """A copy of a schema in which every object schema that lists its `properties` (and
    says nothing about others) admits no other members."""
    if isinstance(schema, list):
        return [closed(s) for s in schema]
    if not isinstance(schema, dict):
        return schema
    out = dict(schema)
    if "properties" in out:
        out["properties"] = {name: closed(s) for name, s in out["properties"].items()}
        if "additionalProperties" not in out and "unevaluatedProperties" not in out:
            out["additionalProperties"] = False
    for keyword in ("items", "additionalProperties", "not"):
        if isinstance(out.get(keyword), dict):
            out[keyword] = closed(out[keyword])
    for keyword in ("anyOf", "oneOf", "allOf"):
        if keyword in out:
            out[keyword] = closed(out[keyword])
    return out


def response_problems(spec: dict[str, Any], observed: list[dict[str, Any]]) -> list[str]:
    """Check answers the handlers gave (`method`, `path` as documented, `status`,
    `content_type`, `body` text) against the documented responses: the status is listed,
    the media type is documented, and a JSON body matches its schema, closed: a member
    the document does not describe is a problem too (the document stays open for
    clients, which must ignore members they do not know)."""
    components = dict(spec.get("components") or {})
    components["schemas"] = {k: closed(v) for k, v in (components.get("schemas") or {}).items()}
    problems = []
    for answer in observed:
        route = f"{answer['method']} {answer['path']}"
        item = resolve(spec, (spec.get("paths") or {}).get(answer["path"]) or {})
        operation = item.get(answer["method"].lower())
        if operation is None:
            problems.append(f"{route}: not in the document")
            continue
        status = str(answer["status"])
        responses = operation.get("responses") or {}
        response = responses.get(status) or responses.get(f"{status[0]}XX") or responses.get("default")
        if response is None:
            problems.append(f"{route}: status {status} is not documented")
            continue
        content = resolve(spec, response).get("content") or {}
        media_type = (answer.get("content_type") or "").split(";")[0].strip().lower()
        if not content:
            if answer.get("body"):
                problems.append(f"{route} {status}: documented without a body, answered {media_type or 'a body'}")
            continue
        media = content.get(media_type)
        if media is None:
            problems.append(f"{route} {status}: answered {media_type or 'no content type'}, documented {sorted(content)}")
            continue
        media = resolve(spec, media)
        if "json" not in media_type or "schema" not in media:
            continue
        try:
            body = json.loads(answer.get("body") or "")
        except ValueError as e:
            problems.append(f"{route} {status}: the {media_type} body is not JSON: {e}")
            continue
        for error in schema_validator(closed(media["schema"]), components).iter_errors(body):
            at = "/".join(str(p) for p in error.absolute_path) or "(root)"
            problems.append(f"{route} {status}: the body does not match the documented schema at {at}: {error.message}")
    return problems


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--spec", default=str(DEFAULT_SPEC), help="the OpenAPI document")
    parser.add_argument("--template", default=str(DEFAULT_TEMPLATE), help="the SAM template")
    parser.add_argument("--cfn", help="the template already translated (infra/translate.py --cfn)")
    parser.add_argument("--operations", action="store_true", help="print the operations as JSON")
    parser.add_argument(
        "--responses",
        metavar="FILE",
        help="check the handlers' answers listed in FILE (JSON; - for stdin) against the document",
    )
    args = parser.parse_args()

    spec_path = Path(args.spec)
    spec = load_spec(spec_path)
    if args.operations:
        spec_routes(spec)  # every operation names its function
        print(json.dumps(operations(spec), indent=2))
        return
    if args.responses:
        source = sys.stdin if args.responses == "-" else open(args.responses, encoding="utf-8")
        with source:
            observed = json.load(source)
        problems = response_problems(spec, observed)
        for p in problems:
            print(f"check_openapi.py: {p}", file=sys.stderr)
        if problems:
            fail(f"{len(problems)} problem(s) in {len(observed)} answers checked against {shown(spec_path)}")
        print(f"{len(observed)} answers match {shown(spec_path)}")
        return
    compare(spec_path, spec, Path(args.template), Path(args.cfn) if args.cfn else None)


if __name__ == "__main__":
    main()
