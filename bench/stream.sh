#!/usr/bin/env bash
# Stream worker benchmark:
#  1. the in-process path (records in memory → decode → Arrow → Parquet) on one core, against
#     DuckDB on one core over the same data (bench/stream.py);
#  2. end to end on LocalStack: seconds from PutRecords until `tributary sql` sees a record at
#     flush intervals of 1s and 5s, and a 20k-record burst: does the worker keep up with the
#     emulator, and its CPU per 100k records (examples/freshness.rs).
#   bench/stream.sh [events] [orders]   (defaults: 1000000 events, 35000 orders)
set -euo pipefail
cd "$(dirname "$0")/.."
# the target directory the tests and the demo use (cargo's own default)
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$PWD/target}
# the binary and the benchmark helpers (examples/), with the tests' profile and features
cargo build --release --workspace --bins --examples
PY=$(scripts/python-env.sh)
"$PY" bench/stream.py --bin-dir "$CARGO_TARGET_DIR/release" --events "${1:-1000000}" --orders "${2:-35000}"
source scripts/localstack.sh
trap emu_stop EXIT
"$CARGO_TARGET_DIR/release/examples/freshness" 1s 5s
