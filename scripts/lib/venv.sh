# Sourced, not run: `venv_sync VENV LOCK LABEL REQUIREMENTS...`
#
# Make the virtualenv VENV hold exactly what the REQUIREMENTS files pin, installing only
# when their content changed since the last full install (a sha256 stamp in the venv,
# written after pip succeeds, so an interrupted install is redone). A venv whose
# interpreter no longer runs (its base Python went away) is made anew. Callers that ask
# at the same moment serialise on the LOCK file: one installs, the others wait. LABEL
# says in the log line what is being installed. PYTHON picks the creating interpreter.
venv_sync() {
  local venv="$1" lock="$2" label="$3"
  shift 3
  mkdir -p "$(dirname "$lock")"
  # The subshell scopes the lock's fd, so nothing started later (moto) inherits it.
  (
    if command -v flock >/dev/null; then flock 9; fi
    local py="$venv/bin/python" stamp="$venv/.requirements.sha256" want f args=()
    want="$(cat "$@" | sha256sum | cut -d' ' -f1)"
    if [[ -f "$stamp" && "$(<"$stamp")" == "$want" ]] && "$py" -c '' 2>/dev/null; then
      exit 0
    fi
    "$py" -c '' 2>/dev/null || "${PYTHON:-python3}" -m venv --clear "$venv" >&2
    echo "venv: installing $label into $venv (a minute or more the first time)" >&2
    for f in "$@"; do args+=(-r "$f"); done
    "$py" -m pip install --quiet --disable-pip-version-check "${args[@]}" >&2
    echo "$want" >"$stamp"
  ) 9>"$lock"
}
