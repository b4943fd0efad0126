#!/usr/bin/env bash
# `make bench`: benchmarks that print figures (not timed tests). Each section
# is a function bench_<name> listed in SECTIONS; `scripts/bench.sh bridge`
# runs only the named sections. Add a section: write its function below and
# append its name to SECTIONS.
set -euo pipefail
cd "$(dirname "$0")/.."

SECTIONS=(bridge seal budget network site scale flat)

section() { printf '\n== %s ==\n' "$*"; }

# shellcheck source=scripts/bench-scale.sh
. scripts/bench-scale.sh

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

# ---- seal (issue 12) ---------------------------------------------------------
# Publish throughput of the bridge with encryption on (each charge point's
# AES-256-GCM key) against the same bridge with encryption off, same supply
# ends of 100 charge points, same embedded broker, in one run of
# BENCH_SEAL_ROUNDS rounds (default 9; each round sends BENCH_SEAL_RECORDS
# clear and as many sealed, which first alternating, each after a GC):
# prints the median of the rounds' sealed/clear ratios (target: >= 85%),
# their spread, each round's rates and the CPU per record, then the codec's
# cost per record.
bench_seal() {
  section "seal: publish throughput, sealed vs clear (bridge actor, embedded broker)"
  local records=${BENCH_SEAL_RECORDS:-200000}
  go test -run '^$' -bench 'SealedPublishThroughput' -benchtime "${records}x" -count 1 ./bridge/ |
    grep -E 'records=[1-9][0-9]{3,}|: rounds |^Benchmark' | sed 's/^ *sealbench_test.go:[0-9]*: //'
  go test -run '^$' -bench 'SealOpen' -benchtime 200000x -count 1 ./bridge/ | grep -E '^Benchmark'
}

# ---- budget (issue 14) -------------------------------------------------------
# Memory per part of a charge point: BENCH_BUDGET (default 10000) of each part
# (engine, monitor, site supervisor, driver, bridge subscription, Central's
# entry, a timer, a record kept by the embedded broker) started on their own
# in one process, at the rules' timings; live heap + goroutine stacks after a
# GC, per part. Bare protoactor actors are measured in the same run (the floor).
bench_budget() {
  section "budget: memory per part of a charge point (live heap + stacks, ${BENCH_BUDGET:-10000} of each)"
  EVSIM_BUDGET=${BENCH_BUDGET:-10000} EVSIM_TEST_LOG_LEVEL=warn \
    go test -count=1 -run '^TestBudget$' -v ./actors/network/ | sed -n 's/^budget: //p'
  section "budget: what an idle charge point costs per second (${BENCH_IDLE:-5000} of them, beside bare protoactor)"
  EVSIM_IDLE_COST=${BENCH_IDLE:-5000} EVSIM_TEST_LOG_LEVEL=warn \
    go test -count=1 -run '^TestIdleCost$' -v ./actors/network/ | sed -n 's/^idle: //p'
}

# ---- network (issue 5) -------------------------------------------------------
# The whole network in one process (evsim) at 1k and 10k charge points (half
# as many drivers), telemetry every second, on the embedded broker. Each run
# writes its summary JSON; the table shows, per size: time from start to all
# registered and to the first supply, telemetry records per second that reached Central, the
# engine -> Central telemetry lag p50/p99, CPU seconds and peak memory per
# simulated charge point, and how many WARN/ERROR lines the run logged.
# BENCH_SIZES (default "1000 10000") and BENCH_SECONDS (default 40) change it;
# BENCH_AUTH (default open) is --auth: the Registry's bcrypt per charge point
# would otherwise dominate the start-up at scale (measured apart, issue 14).
bench_network() {
  section "network: evsim scale (embedded broker, telemetry every 1 s)"
  local sizes=${BENCH_SIZES:-1000 10000} secs=${BENCH_SECONDS:-40}
  local dir; dir=$(mktemp -d)
  go build -o "$dir/evsim" ./cmd/evsim
  printf '%7s %7s %10s %12s %12s %9s %9s %11s %11s %6s\n' \
    cps drivers startup_ms 1st_supply_ms telemetry/s p50_ms p99_ms cpu_ms/cp rss_kb/cp warns
  for n in $sizes; do
    local d=$((n / 2))
    "$dir/evsim" --auth "${BENCH_AUTH:-open}" --cps "$n" --drivers "$d" --duration "${secs}s" --db :memory: \
      --embedded-broker 127.0.0.1:0 --panel off --log-level warn \
      --summary-json "$dir/s$n.json" >/dev/null 2>"$dir/log$n.txt" || { echo "evsim failed at $n:"; tail "$dir/log$n.txt"; return 1; }
    python3 - "$dir/s$n.json" "$n" "$d" "$secs" "$(grep -c -E '\| (WARN|ERROR) \|' "$dir/log$n.txt" || true)" <<'PY'
import json, sys
s = json.load(open(sys.argv[1])); n, d, secs, warns = int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4]), sys.argv[5]
run = secs - s["startup_ms"] / 1000
print("%7d %7d %10d %12d %12.0f %9.1f %9.1f %11.2f %11.0f %6s" % (
    n, d, s["startup_ms"], s["first_supply_ms"], s["telemetry_records"] / run, s["telemetry_lag_p50_ms"], s["telemetry_lag_p99_ms"],
    s["cpu_seconds"] * 1000 / n, s["peak_rss_mb"] * 1024 / n, warns))
PY
  done
  rm -rf "$dir"
}

# ---- site (issue 16) ---------------------------------------------------------
# One `evnode site` process hosting N charge points (BENCH_SITE_SIZES, default
# 20000), against `evnode broker` and `evnode central --auth open` in other
# processes, with `evnode drivers` (N/10 drivers, BENCH_SITE_DRIVERS) in
# another. Per size: time from the site's start to all N ACTIVATED on Central,
# then over BENCH_SITE_SECONDS (default 30) the site process's CPU (from
# /proc/PID/stat) and at the end its RSS and peak RSS (VmRSS, VmHWM), per charge point.
bench_site() {
  section "site: one evnode site process, Central and broker apart (--auth open)"
  local sizes=${BENCH_SITE_SIZES:-20000} secs=${BENCH_SITE_SECONDS:-30}
  local dir; dir=$(mktemp -d)
  go build -o "$dir/evnode" ./cmd/evnode
  tickets_now() { curl -s "http://$http/api/network" | python3 -c 'import json,sys; print(json.load(sys.stdin)["totals"]["tickets"])'; }
  free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
  local kafka=127.0.0.1:$(free_port) central=127.0.0.1:$(free_port) http=127.0.0.1:$(free_port) pids=()
  stop_all() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; }
  trap 'stop_all; rm -rf "$dir"' RETURN
  "$dir/evnode" broker --listen "$kafka" --data-dir "$dir/kafka" 2>"$dir/broker.log" & pids+=($!)
  "$dir/evnode" central --auth open --brokers "$kafka" --listen "$central" --http "$http" --db :memory: \
    --log-level warn 2>"$dir/central.log" & pids+=($!)
  printf '%7s %7s %11s %9s %10s %11s %10s %11s %6s\n' cps drivers activated_s tickets/s cpu_ms/s cpu_us/cp/s rss_kb/cp peak_kb/cp warns
  local first=1
  for n in $sizes; do
    local d=${BENCH_SITE_DRIVERS:-$((n / 10))} start; start=$(date +%s.%N)
    "$dir/evnode" site --brokers "$kafka" --central "$central" --listen 127.0.0.1:$(free_port) --first "$first" --count "$n" \
      --id-pattern CP-%06d --key-file "$dir/site.key" --journal-dir memory --log-level warn 2>"$dir/site$n.log" &
    local site=$!; pids+=("$site")
    "$dir/evnode" drivers --brokers "$kafka" --count "$((d > 0 ? d : 1))" --id-pattern "d$n-%06d" --cp-first "$first" --cp-count "$n" \
      --cp-pattern CP-%06d --requests-per-driver 1000 --progress-dir memory --log-level warn 2>"$dir/drivers$n.log" &
    local drivers=$!; pids+=("$drivers")
    local up=""
    for _ in $(seq 1 600); do
      up=$(curl -s "http://$http/api/network" | python3 -c 'import json,sys; t=json.load(sys.stdin)["totals"]["by_state"]; print(t.get("ACTIVATED",0)+t.get("SUPPLYING",0))' 2>/dev/null || echo 0)
      [ "${up:-0}" -ge "$n" ] && break
      sleep 1
    done
    local activated; activated=$(python3 -c "import time; print('%.1f' % (time.time() - $start))")
    [ "${up:-0}" -ge "$n" ] || { echo "site at $n: only $up ACTIVATED after 600 s"; tail -3 "$dir/site$n.log"; return 1; }
    local t0 k0 t1 k1
    t0=$(awk '{print $14+$15}' "/proc/$site/stat"); k0=$(tickets_now)
    sleep "$secs"
    t1=$(awk '{print $14+$15}' "/proc/$site/stat"); k1=$(tickets_now)
    local rss hwm; rss=$(awk '/^VmRSS/{print $2}' "/proc/$site/status"); hwm=$(awk '/^VmHWM/{print $2}' "/proc/$site/status")
    local tck; tck=$(getconf CLK_TCK)
    python3 -c "
n, d, secs, tck = $n, $d, $secs, $tck
cpu_ms_s = ($t1 - $t0) * 1000 / tck / secs
print('%7d %7d %11s %9.1f %10.0f %11.1f %10.1f %11.1f %6s' % (n, d, '$activated', ($k1 - $k0) / secs, cpu_ms_s, cpu_ms_s * 1000 / n, $rss / n, $hwm / n, '$(grep -c -E '\| (WARN|ERROR) \|' "$dir/site$n.log" || true)'))"
    # (no such line is no failure: grep's 1 must not end the script under pipefail,
    # which left the site, Central and broker running)
    { grep -E '\| (WARN|ERROR) \|' "$dir/site$n.log" || true; } | cut -d'|' -f3- | sed -E 's/CP-[0-9]+/CP-N/g; s/[0-9.]+(ms|s)\b/Ts/g' |
      sort | uniq -c | sort -rn | head -3 | sed 's/^/        warn: /'
    kill "$drivers" "$site"; wait "$drivers" "$site" 2>/dev/null || true
    first=$((first + n))
    # the next size counts only its own: wait until this one's are DISCONNECTED
    for _ in $(seq 1 60); do
      [ "$(curl -s "http://$http/api/network" | python3 -c 'import json,sys; t=json.load(sys.stdin)["totals"]["by_state"]; print(t.get("ACTIVATED",0)+t.get("SUPPLYING",0))' 2>/dev/null || echo 1)" = 0 ] && break
      sleep 1
    done
  done
}

wanted=("$@")
[ ${#wanted[@]} -gt 0 ] || wanted=("${SECTIONS[@]}")
for s in "${wanted[@]}"; do
  if ! declare -F "bench_$s" >/dev/null; then
    echo "bench.sh: no section $s (have: ${SECTIONS[*]})" >&2
    exit 2
  fi
  "bench_$s"
done
