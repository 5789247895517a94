#!/usr/bin/env bash
# The contract run: schemathesis against openapi.yaml on a running local API.
#   tests/contract/run.sh BASE_URL short   # scripts/test: every phase, few examples, the conformance checks (under 30 s)
#   tests/contract/run.sh BASE_URL long    # scripts/fuzz contract: --checks all, many examples, long stateful runs
# Needs schemathesis in .venv (ensure_schemathesis in scripts/lib.sh). The keys are the
# development ones whose SHA-256 are in dev.env; the environment may override them. The report
# (JUnit XML and an NDJSON event log) goes to .local/contract-<profile>/.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
BASE_URL=${1:?usage: tests/contract/run.sh BASE_URL short|long}
PROFILE=${2:-short}

export CONTRACT_BASE_URL=${BASE_URL%/}
export CONTRACT_SIGN_ON_KEY=${CONTRACT_SIGN_ON_KEY:-sok_dev-only-key-for-local-development-never-deploy}
export CONTRACT_ADMIN_KEY=${CONTRACT_ADMIN_KEY:-adk_dev-only-key-for-local-development-never-deploy}
export CONTRACT_INTROSPECTION_KEY=${CONTRACT_INTROSPECTION_KEY:-ik_dev-only-introspection-key-for-local-development-never-deploy}
# hooks.py is imported by module name, from this directory.
export PYTHONPATH="$HERE${PYTHONPATH:+:$PYTHONPATH}"

# The short form fails on what must never happen: a 5xx from a function, or a response whose
# status, content type, headers or body the spec does not describe. The long form runs every
# check, also whether schema-valid input is accepted and schema-violating input refused and
# whether auth is enforced (README.md lists what those still find).
CONFORMANCE=not_a_server_error,status_code_conformance,content_type_conformance,response_headers_conformance,response_schema_conformance,use_after_free,ensure_resource_availability
case "$PROFILE" in
  short) ARGS=(--checks "$CONFORMANCE" --max-examples 10 --phases examples,coverage,fuzzing,stateful) ;;
  long) ARGS=(--checks all --max-examples 300 --phases examples,coverage,fuzzing,stateful) ;;
  *) echo "unknown profile $PROFILE (short or long)" >&2; exit 2 ;;
esac
REPORT_DIR="$ROOT/.local/contract-$PROFILE"
mkdir -p "$REPORT_DIR"

exec "$ROOT/.venv/bin/schemathesis" --config-file "$HERE/schemathesis.toml" run "$ROOT/openapi.yaml" \
  "${ARGS[@]}" \
  --report junit,ndjson --report-dir "$REPORT_DIR" \
  "${@:3}"
