#!/usr/bin/env bash
# Benchmark: `tributary backfill` against DuckDB's COPY ... PARTITION_BY on the same JSON Lines,
# and the three named queries against DuckDB over the same Parquet, in one run.
#   bench/backfill.sh [events] [orders] [--item-bytes 1700] [--only events|dynamodb-stream] [--runs N]
#   (defaults: 1000000 events, 35000 orders ≈ 122k change records; TRIBUTARY_BIN: another binary)
set -euo pipefail
cd "$(dirname "$0")/.."
# the target directory the tests and the demo use (cargo's own default)
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$PWD/target}
# the binary, with the tests' profile and features
cargo build --release --workspace --bins
PY=$(scripts/python-env.sh)
exec "$PY" bench/backfill.py --tributary "${TRIBUTARY_BIN:-$CARGO_TARGET_DIR/release/tributary}" --events "${1:-1000000}" --orders "${2:-35000}" "${@:3}"
