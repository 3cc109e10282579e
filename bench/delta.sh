#!/usr/bin/env bash
# Delta Lake lifecycle benchmark (bench/delta.py): a month of small commits compacted, and at
# 10M events backfill against the previous main's binary and the named queries against the
# DuckDB CLI.
#   bench/delta.sh [--baseline <previous main's tributary>] [--parts month,large] [...]
# The previous main's binary: build the commit before the Delta work (15e7868) in its own
# worktree and target directory, e.g.
#   git worktree add /tmp/baseline 15e7868
#   (cd /tmp/baseline && CARGO_TARGET_DIR=$HOME/.cache/tributary/target-baseline cargo build --release)
set -euo pipefail
cd "$(dirname "$0")/.."
# the target directory the tests and the demo use (cargo's own default)
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$PWD/target}
# the binary and the benchmark helpers (examples/), with the tests' profile and features
cargo build --release --workspace --bins --examples
PY=$(scripts/python-env.sh)
"$PY" -c "import duckdb_cli" 2>/dev/null || "$(dirname "$PY")/pip" install -q "duckdb-cli==$("$PY" -c 'import duckdb; print(duckdb.__version__)')" >&2
exec "$PY" bench/delta.py --bin-dir "$CARGO_TARGET_DIR/release" "$@"
