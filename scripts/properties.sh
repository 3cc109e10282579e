#!/usr/bin/env bash
# The long property run (not CI): the seeded property tests of every decoder and of the KPL
# de-aggregator (ingest/src/decode/properties.rs) on at least ten million inputs, where CI runs
# 2,000 cases per property. A failure prints the seed and the case that repeat it.
#
#   scripts/properties.sh                 # a seed from the clock, printed first
#   scripts/properties.sh 12345           # that seed
#   TRIBUTARY_PROPERTY_CASES=2000 scripts/properties.sh 12345   # a short run of the same
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$HOME/.cache/tributary/target}

# 17 properties: 590,000 cases each is 10,030,000 inputs (the hostile ones decode two or
# three records each, so more records than that go through the decoders)
export TRIBUTARY_PROPERTY_CASES=${TRIBUTARY_PROPERTY_CASES:-590000}
export TRIBUTARY_PROPERTY_SEED=${1:-${TRIBUTARY_PROPERTY_SEED:-$(date +%s)}}
echo "properties: $TRIBUTARY_PROPERTY_CASES cases per property, seed $TRIBUTARY_PROPERTY_SEED" >&2

# --nocapture: each property prints its case count, time and rows/dead letters when it passes
cargo test --release --workspace --lib decode::properties:: -- --nocapture
