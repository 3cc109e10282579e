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

# With arguments (test name filters, libtest flags): the tests they choose, in one run.
if [ $# -gt 0 ]; then
  echo "== tests" >&2
  cargo test --release "${targets[@]}" --no-fail-fast -- "$@"
  exit
fi

# Without: every test, those of tests/it/alone.rs last and one at a time, since they need the
# emulator to themselves (its Kinesis saturates under them, and a test beside them times out).
status=0
echo "== tests" >&2
cargo test --release "${targets[@]}" --no-fail-fast -- --skip alone:: || status=$?
echo "== tests that need the emulator to themselves" >&2
cargo test --release --workspace --test it --no-fail-fast -- --test-threads 1 alone:: || status=$?
exit "$status"
