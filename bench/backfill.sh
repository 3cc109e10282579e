#!/usr/bin/env bash
# Benchmark: `tributary backfill` against DuckDB's COPY ... PARTITION_BY on the same JSON Lines,
# and the three named queries against DuckDB over the same Parquet, in one run.
#   bench/backfill.sh [events] [orders]     (defaults: 1000000 events, 35000 orders ≈ 100k change records)
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$HOME/.cache/tributary/target}
# the whole workspace with every target: a narrower build resolves features differently and
# rebuilds DataFusion
cargo build --release --workspace --all-targets
PY=$(scripts/python-env.sh)
exec "$PY" bench/backfill.py --tributary "$CARGO_TARGET_DIR/release/tributary" --events "${1:-1000000}" --orders "${2:-35000}"
