#!/usr/bin/env bash
# `make bench`: benchmarks that print figures (not timed tests). Each section
# is a function bench_<name> listed in SECTIONS; `scripts/bench.sh bridge`
# runs only the named sections. Add a section: write its function below and
# append its name to SECTIONS.
set -euo pipefail
cd "$(dirname "$0")/.."

SECTIONS=(bridge)

section() { printf '\n== %s ==\n' "$*"; }

# ---- bridge (issue 3) --------------------------------------------------------
# Publish throughput of the bridge actor against a bare sarama async producer
# (same settings: idempotent, acks=all), same ~200-byte records, same embedded
# broker, in one run: prints both rates and the ratio (target: >= 80%).
bench_bridge() {
  section "bridge: publish throughput, bridge actor vs bare sarama (embedded broker)"
  local records=${BENCH_BRIDGE_RECORDS:-300000}
  go test -run '^$' -bench 'PublishThroughput' -benchtime "${records}x" -count 1 ./bridge/ |
    grep -E 'records=[1-9][0-9]{3,}|round [0-9]:|^Benchmark' | sed 's/^ *bench_test.go:[0-9]*: //'
}

# ---- network (added by its issue) ------------------------------------------

wanted=("$@")
[ ${#wanted[@]} -gt 0 ] || wanted=("${SECTIONS[@]}")
for s in "${wanted[@]}"; do
  if ! declare -F "bench_$s" >/dev/null; then
    echo "bench.sh: no section $s (have: ${SECTIONS[*]})" >&2
    exit 2
  fi
  "bench_$s"
done
