#!/usr/bin/env bash
# The test command: unit tests, then integration tests against LocalStack (started here and
# stopped on exit) with DuckDB/pyarrow as the independent Parquet reader.
# First run installs LocalStack (~2 min) and builds DataFusion, delta-rs and the AWS SDK
# (docs/benchmarks.md, "Build", has the figures). The build goes to cargo's own target
# directory (./target, or $CARGO_TARGET_DIR), the one `cargo run --release -- demo` uses, with
# the same profile and features: the demo after the tests, or the tests after the demo, compile
# nothing again.
set -euo pipefail
cd "$(dirname "$0")/.."

# The test targets only: libraries' unit tests, the binary (the integration tests run it) and
# the integration tests. The examples are benchmark helpers; bench/*.sh build them.
targets=(--workspace --lib --bins --tests)

echo "== build" >&2
cargo test --release "${targets[@]}" --no-run

TRIBUTARY_PYTHON=$(scripts/python-env.sh)
export TRIBUTARY_PYTHON

# shellcheck source=scripts/localstack.sh
source scripts/localstack.sh
trap emu_stop EXIT

echo "== tests" >&2
cargo test --release "${targets[@]}" --no-fail-fast -- "$@"
