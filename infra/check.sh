#!/usr/bin/env bash
# Infra checks for infra/template.yaml; any finding fails.
#
#   infra/check.sh
#
# 1. translate: infra/translate.py runs aws-sam-translator offline on the SAM template
#    (fails on any translation error) and prints the table it declares.
# 2. cfn-lint on the SAM template (SAM schemas) and on the translated CloudFormation,
#    which also lints what SAM generates (roles, permissions, stage, rule).
# 3. checkov (cloudformation framework) on both, offline (--skip-download).
# 4. infra/check_openapi.py: docs/openapi.yaml is valid OpenAPI 3.1 (openapi-spec-validator,
#    and every example matches its schema), and its routes are exactly the HTTP API routes
#    of the translated template, each with the same function and authorisation.
#
# Skips live in place, on the resource, with the reason (checkov: Metadata.checkov.skip;
# cfn-lint: Metadata.cfn-lint.config.ignore_checks); there is no global skip list.
#
# Tools: cfn-lint, aws-sam-translator and openapi-spec-validator are in the project virtualenv ./.venv
# (scripts/requirements-infra.txt, installed by `scripts/stack.sh venv`, which re-installs
# only when a scripts/requirements*.txt file changed). checkov cannot share that venv
# (it pins an older boto3 than moto's set), so it lives in ./.venv/checkov, made from
# infra/requirements-checkov.txt and re-installed only when that file changes (hash stamp
# .venv/checkov/.requirements.sha256). Both are gitignored with .venv/.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
VENV="$ROOT/.venv"
PY="$VENV/bin/python"
CHECKOV_VENV="$VENV/checkov"
CHECKOV_REQ="$ROOT/infra/requirements-checkov.txt"
TEMPLATE="infra/template.yaml"
PYTHON="${PYTHON:-python3}"

log() { echo "check.sh: $*" >&2; }
step() { echo "== $*"; }

# ---------------------------------------------------------------- virtualenvs
# shellcheck source=scripts/lib/venv.sh
source "$ROOT/scripts/lib/venv.sh"

step "infra tools: .venv (cfn-lint, aws-sam-translator, openapi-spec-validator) and .venv/checkov"
"$ROOT/scripts/stack.sh" venv
if ! "$PY" -c 'import samtranslator, cfnlint, openapi_spec_validator' 2>/dev/null; then
  log ".venv lacks aws-sam-translator, cfn-lint or openapi-spec-validator after install (scripts/requirements-infra.txt)"
  exit 1
fi
# Concurrent check.sh runs: one installs checkov, the others wait for it.
venv_sync "$CHECKOV_VENV" "$VENV/.checkov.lock" "infra/requirements-checkov.txt (checkov)" "$CHECKOV_REQ"

WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
TRANSLATED="$WORK/template.translated.json"

# ---------------------------------------------------------------- checks
step "sam translate $TEMPLATE (offline)"
"$PY" infra/translate.py "$TEMPLATE" --cfn "$TRANSLATED" >"$WORK/table.json"
echo "table: $("$PY" -c 'import json,sys; print(json.dumps(json.load(open(sys.argv[1])), sort_keys=True))' "$WORK/table.json")"

step "dashboard bodies are JSON"
# CloudFormation passes DashboardBody through; a JSON slip would only fail at deploy.
# Every ${...} of its Fn::Sub becomes 1 (a number outside quotes, text inside).
"$PY" - "$TRANSLATED" <<'PY'
import json, re, sys
resources = json.load(open(sys.argv[1]))["Resources"]
for name, r in resources.items():
    if r["Type"] != "AWS::CloudWatch::Dashboard":
        continue
    body = r["Properties"]["DashboardBody"]
    text = body["Fn::Sub"] if isinstance(body, dict) else body
    text = text[0] if isinstance(text, list) else text
    try:
        widgets = json.loads(re.sub(r"\$\{[^}]*\}", "1", text))["widgets"]
    except (ValueError, KeyError) as e:
        sys.exit(f"check.sh: {name}: DashboardBody is not dashboard JSON: {e}")
    print(f"{name}: {len(widgets)} widgets")
PY

# Both linters always run, so one pass shows every finding; either failing fails.
failed=()

step "cfn-lint $TEMPLATE + translated template"
if "$VENV/bin/cfn-lint" -- "$TEMPLATE" "$TRANSLATED"; then
  echo "cfn-lint: no findings"
else
  failed+=(cfn-lint)
fi

step "checkov (cloudformation) $TEMPLATE + translated template"
# Offline and deterministic: no Prisma Cloud guideline download, no PyPI update check.
export BC_SKIP_MAPPING=TRUE CKV_SKIP_PACKAGE_UPDATE_CHECK=TRUE
# checkov exits 0 on a file it cannot parse, so its JSON summary is checked as well.
if ! "$CHECKOV_VENV/bin/checkov" --quiet --compact --skip-download --framework cloudformation \
  -f "$TEMPLATE" -f "$TRANSLATED" -o cli -o json --output-file-path "console,$WORK/checkov.json" ||
  ! "$PY" - "$WORK/checkov.json" <<'PY'; then
import json, sys
reports = json.load(open(sys.argv[1]))
for report in reports if isinstance(reports, list) else [reports]:
    s = report["summary"]
    if s["parsing_errors"] or not s["resource_count"] or s["failed"]:
        sys.exit(f"check.sh: checkov {report.get('check_type')}: {s}")
PY
  failed+=(checkov)
fi

step "OpenAPI docs/openapi.yaml against $TEMPLATE"
# Reads the template translated above; names every route that is on one side only.
if ! "$PY" infra/check_openapi.py --spec docs/openapi.yaml --template "$TEMPLATE" --cfn "$TRANSLATED"; then
  failed+=(openapi)
fi

if ((${#failed[@]})); then
  log "FAILED: ${failed[*]} (fix the template or docs/openapi.yaml, or skip in place on the resource with the reason)"
  exit 1
fi
echo "infra checks passed"
