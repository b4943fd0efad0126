# Sections `scale` and `flat` of scripts/bench.sh (issue 14), sourced by it.

# ---- scale -------------------------------------------------------------------
# The issue's scale table: per size N (BENCH_SCALE_SIZES, default "10000
# 50000 100000"), N charge points and N/2 drivers run BENCH_SCALE_SECONDS
# (default 60; the issue's target is 300) twice, the same way:
#   - ext: evsim against a broker in another process (`evnode broker`, or
#     BENCH_BROKERS, e.g. a real Kafka), so its RSS is the simulation alone;
#     then bare sarama produces and consumes as many telemetry records as
#     evsim's Central received, against the same broker
#     (BenchmarkBareSaramaRoundTrip, client CPU only);
#   - emb: evsim with its embedded broker (the whole thing in one process).
# Columns (emb run unless named ext): time to all registered; telemetry lag
# p99; false FAULTs (no chaos runs, so every fault is false) and DISCONNECTED
# lines; tickets and supplies started; peak RSS per charge point (ext, emb);
# CPU cores (CPU time / wall time; ext, emb); CPU µs per telemetry record of
# the whole evsim process (ext) and of bare sarama, and their ratio.
# Targets (issue 14, 100k, 300 s, quiet 2-core machine): registered < 10 s,
# lag p99 < 1 s, 0 false, tickets = started, RSS <= 16 KiB ext and <= 24 KiB
# emb, <= 1.5 cores.
bench_scale() {
  local sizes=${BENCH_SCALE_SIZES:-10000 50000 100000} secs=${BENCH_SCALE_SECONDS:-60}
  section "scale: N charge points + N/2 drivers, ${secs} s each, telemetry and health every 1 s (--auth ${BENCH_AUTH:-open})"
  local dir; dir=$(mktemp -d)
  go build -o "$dir/evsim" ./cmd/evsim
  go build -o "$dir/evnode" ./cmd/evnode
  go test -c -o "$dir/bridge.test" ./bridge/
  printf '%7s %6s %7s %7s %6s %6s %8s %8s %7s %7s %5s %5s %7s %7s %6s\n' \
    cps drv reg_s p99_ms fault disc tickets started kib_ext kib_emb c_ext c_emb us/rec bare_us ratio
  for n in $sizes; do
    local d=$((n / 2)) brokers=${BENCH_BROKERS:-} broker_pid=""
    if [ -z "$brokers" ]; then
      "$dir/evnode" broker --listen 127.0.0.1:0 --log-level info 2>"$dir/broker$n.log" &
      broker_pid=$!
      brokers=$(bench_wait_broker "$dir/broker$n.log") || { echo "evnode broker did not start:"; tail "$dir/broker$n.log"; kill "$broker_pid"; return 1; }
    fi
    bench_evsim "$dir" "ext$n" "$n" "$d" "$secs" --brokers "$brokers" || { [ -z "$broker_pid" ] || kill "$broker_pid"; return 1; }
    local records; records=$(python3 -c 'import json,sys; print(max(1000, json.load(open(sys.argv[1]))["telemetry_records"]))' "$dir/ext$n.json")
    EVSIM_BENCH_BROKERS=$brokers "$dir/bridge.test" -test.run '^$' -test.bench BareSaramaRoundTrip \
      -test.benchtime "${records}x" -test.count 1 >"$dir/bare$n.txt" 2>&1 || { echo "bare sarama failed:"; tail "$dir/bare$n.txt"; }
    if [ -n "$broker_pid" ]; then kill "$broker_pid"; wait "$broker_pid" 2>/dev/null || true; fi
    bench_evsim "$dir" "emb$n" "$n" "$d" "$secs" --embedded-broker 127.0.0.1:0 || return 1
    python3 - "$dir" "$n" "$d" <<'PY'
import json, re, sys
dir, n, d = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
ext, emb = (json.load(open(f"{dir}/{k}{n}.json")) for k in ("ext", "emb"))
disc = sum(1 for l in open(f"{dir}/emb{n}.log") if "DISCONNECTED: no sign of life" in l)
m = re.search(r"cpu_us_per_record=([0-9.]+)", open(f"{dir}/bare{n}.txt").read())
bare = float(m.group(1)) if m else float("nan")
ours = ext["cpu_seconds"] * 1e6 / ext["telemetry_records"] if ext["telemetry_records"] else float("nan")
print("%7d %6d %7.1f %7.0f %6d %6d %8d %8d %7.1f %7.1f %5.2f %5.2f %7.1f %7.2f %6.1f" % (
    n, d, emb["startup_ms"] / 1000, emb["telemetry_lag_p99_ms"], emb["faults"], disc, emb["tickets"], emb["supplies_started"],
    ext["peak_rss_mb"] * 1024 / n, emb["peak_rss_mb"] * 1024 / n, ext["cpu_seconds"] / ext["wall_s"], emb["cpu_seconds"] / emb["wall_s"],
    ours, bare, ours / bare))
PY
  done
  echo "(ext: evsim against ${BENCH_BROKERS:-evnode broker in another process}; emb: its embedded broker; us/rec: evsim's CPU per telemetry record (ext), bare_us: sarama's)"
  rm -rf "$dir"
}

# bench_wait_broker prints the address `evnode broker` logs, once it listens.
bench_wait_broker() {
  local i
  for i in $(seq 1 300); do
    if grep -q 'listening on' "$1" 2>/dev/null; then
      grep -o 'listening on [^ ]*' "$1" | head -1 | cut -d' ' -f3
      return 0
    fi
    sleep 0.1
  done
  return 1
}

# bench_evsim DIR NAME CPS DRIVERS SECONDS FLAGS...: one evsim run; writes
# NAME.json (its summary, plus wall_s) and NAME.log.
bench_evsim() {
  local dir=$1 name=$2 n=$3 d=$4 secs=$5
  shift 5
  local t0 t1
  t0=$(date +%s.%N)
  "$dir/evsim" --auth "${BENCH_AUTH:-open}" --cps "$n" --drivers "$d" --duration "${secs}s" --db :memory: \
    --panel off --log-level warn --summary-json "$dir/$name.json" "$@" >/dev/null 2>"$dir/$name.log" ||
    { echo "evsim failed ($name):"; tail "$dir/$name.log"; return 1; }
  t1=$(date +%s.%N)
  python3 - "$dir/$name.json" "$t0" "$t1" <<'PY'
import json, sys
p = sys.argv[1]; s = json.load(open(p)); s["wall_s"] = float(sys.argv[3]) - float(sys.argv[2])
json.dump(s, open(p, "w"))
PY
}

# ---- flat --------------------------------------------------------------------
# Memory flatness: BENCH_FLAT_CPS charge points (default 10000, half as many
# drivers) with the embedded broker for BENCH_FLAT_SECONDS (default 300);
# evsim's RSS is read every second; prints the RSS at minute 1 (a fifth of the
# run when it is shorter than 5 min) and at the end of the run, and their
# ratio (target: within 10%).
bench_flat() {
  local n=${BENCH_FLAT_CPS:-10000} secs=${BENCH_FLAT_SECONDS:-300}
  local early=$((secs >= 300 ? 60 : secs / 5))
  section "flat: RSS over ${secs} s, ${n} charge points + $((n / 2)) drivers, embedded broker"
  local dir; dir=$(mktemp -d)
  go build -o "$dir/evsim" ./cmd/evsim
  "$dir/evsim" --auth "${BENCH_AUTH:-open}" --cps "$n" --drivers "$((n / 2))" --duration "${secs}s" --db :memory: \
    --embedded-broker 127.0.0.1:0 --panel off --log-level warn >/dev/null 2>"$dir/log.txt" &
  local pid=$! t=0 t0
  t0=$(date +%s)
  : >"$dir/rss.txt"
  while kill -0 "$pid" 2>/dev/null && [ "$t" -lt "$secs" ]; do
    sleep 1
    t=$(($(date +%s) - t0)) # seconds since the start, however late the loop runs
    awk -v t="$t" '/^VmRSS:/ {print t, $2}' "/proc/$pid/status" >>"$dir/rss.txt" 2>/dev/null || true
  done
  wait "$pid" || { echo "evsim failed:"; tail "$dir/log.txt"; rm -rf "$dir"; return 1; }
  python3 - "$dir/rss.txt" "$early" "$n" "$secs" <<'PY'
import sys
rows = [tuple(map(int, l.split())) for l in open(sys.argv[1]) if l.strip()]
early, n = int(sys.argv[2]), int(sys.argv[3])
at = lambda t: min(rows, key=lambda r: abs(r[0] - t))
e, last = at(early), at(int(sys.argv[4]) - 2)
print("RSS at %d s: %.0f MB (%.1f KiB/CP); at %d s: %.0f MB (%.1f KiB/CP); end/early %.1f%%; max %.0f MB" % (
    e[0], e[1] / 1024, e[1] / n, last[0], last[1] / 1024, last[1] / n, last[1] / e[1] * 100, max(r[1] for r in rows) / 1024))
PY
  rm -rf "$dir"
}
