#!/usr/bin/env bash
# Creates (first run only) a Python venv with DuckDB and pyarrow from PyPI (the independent
# Parquet reader of the tests and the peer of the benchmarks; duckdb-extension-delta, the build
# of DuckDB's delta extension that matches the duckdb pin, reads the Delta tables) and sqlglot (an independent
# Athena/Trino SQL parser for the DDL tests). Prints the venv's python path.
#   TRIBUTARY_PYTHON=$(scripts/python-env.sh)
set -euo pipefail
PY_DIR=${PY_DIR:-$HOME/.cache/tributary/py}
DUCKDB=1.5.5
if [ ! -x "$PY_DIR/bin/python" ] || ! "$PY_DIR/bin/python" -c "import duckdb, duckdb_extension_delta, pyarrow, sqlglot; assert duckdb.__version__ == '$DUCKDB'" 2>/dev/null; then
  echo "python-env.sh: installing duckdb (with its delta extension), pyarrow and sqlglot into $PY_DIR" >&2
  python3 -m venv "$PY_DIR"
  "$PY_DIR/bin/pip" install -q "duckdb==$DUCKDB" "duckdb-extension-delta==$DUCKDB" "pyarrow==26.0.1" "sqlglot==30.30.0" >&2
fi
echo "$PY_DIR/bin/python"
