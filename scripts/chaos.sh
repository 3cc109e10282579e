#!/usr/bin/env bash
# The chaos run (not CI): two workers on one stream through 20 SIGKILLs, a split, a merge, a
# 30 s S3 outage and `tributary compact` beside them, under a steady producer; then exact counts
# and the named queries against the generator's answers (tests/it/chaos.rs). About 5 minutes
# after the build; the figures go to docs/benchmarks.md ("Chaos run").
set -euo pipefail
cd "$(dirname "$0")/.."
exec scripts/test.sh --ignored chaos_run --nocapture
