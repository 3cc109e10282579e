#!/usr/bin/env bash
# The test command: unit tests, then integration tests against LocalStack (started here and
# stopped on exit) with DuckDB/pyarrow as the independent Parquet reader.
# First run installs LocalStack (~2 min) and builds DataFusion + the AWS SDK (~20 min on 2 cores).
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$HOME/.cache/tributary/target}

echo "== build" >&2
cargo build --release --workspace --all-targets

TRIBUTARY_PYTHON=$(scripts/python-env.sh)
export TRIBUTARY_PYTHON

# shellcheck source=scripts/localstack.sh
source scripts/localstack.sh
trap emu_stop EXIT

echo "== tests" >&2
cargo test --release --workspace --no-fail-fast -- "$@"
