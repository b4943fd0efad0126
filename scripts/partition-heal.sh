#!/usr/bin/env bash
# How long after a partition heals the site node's charge points are all
# ACTIVATED again on Central: runs TestSiteNodePartitionHealsWithNothingLost
# (internal/e2e; needs root, ip netns, iptables) once per hold in HOLDS, so
# that the heal falls at different points of TCP's retransmission backoff,
# and prints one line per run and the distribution.
#   HOLDS   how long each cut stays after DISCONNECTED (Go durations, >= 3s;
#           default "3s 4s 5s 6s 7s 8s 9s 10s")
#   REPEAT  runs per hold (default 1)
#   OUT     a file that gets the per-run lines too (default none)
# Run from the module to measure (e.g. a copy at another commit to compare).
set -euo pipefail
cd "$(dirname "$0")/.."
holds=${HOLDS:-3s 4s 5s 6s 7s 8s 9s 10s}
repeat=${REPEAT:-1}
bin=$(mktemp -d)/e2e.test
trap 'rm -rf "$(dirname "$bin")"' EXIT
go test -c -o "$bin" ./internal/e2e/
results=()
for hold in $holds; do
  for _ in $(seq "$repeat"); do
    log=$(cd internal/e2e && EVSIM_E2E_PARTITION_HOLD=$hold "$bin" -test.run '^TestSiteNodePartitionHealsWithNothingLost$' -test.count=1 -test.v 2>&1) || status=$?
    line=$(grep -o 'link healed after .*' <<<"$log" || true)
    verdict=PASS
    [[ ${status:-0} -ne 0 ]] && verdict=FAIL
    unset status
    # "link healed after 13.2s cut: all ACTIVATED again 0.6s later"
    cut=$(sed -E 's/link healed after ([^ ]+) cut.*/\1/' <<<"$line")
    back=$(sed -E 's/.*ACTIVATED again ([^ ]+) later.*/\1/' <<<"$line")
    row="hold=$hold cut=${cut:-?} heal_to_activated=${back:-?} load=$(cut -d' ' -f1 /proc/loadavg) test=$verdict"
    echo "$row"
    [[ -n ${OUT:-} ]] && echo "$row" >>"$OUT"
    [[ $verdict == FAIL ]] && grep -E -- '--- FAIL|_test.go:[0-9]+:' <<<"$log" | head -5 >&2
    [[ -n $back ]] && results+=("$back")
  done
done
# The distribution, in seconds: sorted, then median and max.
printf '%s\n' "${results[@]}" | python3 -c '
import re, sys
unit = {"ms": 0.001, "s": 1, "m": 60}
def secs(d):
    return sum(float(n) * unit[u] for n, u in re.findall(r"([0-9.]+)(ms|s|m)", d))
v = sorted(secs(l) for l in sys.stdin if l.strip())
if v:
    print("heal->ACTIVATED over %d runs (s): %s; median %.1f, max %.1f" % (len(v), " ".join("%.1f" % x for x in v), v[len(v) // 2], v[-1]))
'
