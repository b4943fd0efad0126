#!/usr/bin/env bash
# Runs the web panel's and the driver app's browser tests against a real
# evsim process: builds evsim, starts it with the web panel on a free port
# and an operator token, waits for /readyz, runs TestBrowserE2E,
# TestBrowserDriverApp and TestBrowserWeatherView with EVSIM_E2E_URL
# pointing at it, and stops evsim.
# Screenshots go to $EVSIM_E2E_ARTIFACTS (default ./e2e-artifacts).
#
#   internal/web/e2e/against-evsim.sh [extra evsim flags]
set -euo pipefail
cd "$(dirname "$0")/../../.."

artifacts=${EVSIM_E2E_ARTIFACTS:-$PWD/e2e-artifacts}
mkdir -p "$artifacts"
tmp=$(mktemp -d)
bin=$tmp/evsim
token=e2e-$RANDOM$RANDOM
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')

go build -o "$bin" ./cmd/evsim
# A frozen city without charge points (Oslo): the weather view shows an
# alert while the other tests' charge points stay in service.
printf 'Oslo -5\n' >"$tmp/temperatures.txt"
"$bin" --http "127.0.0.1:$port" --operator-token "$token" --embedded-broker 127.0.0.1:0 \
  --db :memory: --panel off --duration 5m --weather-cities Oslo --weather-file "$tmp/temperatures.txt" \
  --weather-interval 1s "$@" >"$artifacts/evsim.log" 2>&1 &
pid=$!
trap 'kill "$pid" 2>/dev/null; wait "$pid" 2>/dev/null; rm -rf "$tmp"' EXIT

for _ in $(seq 100); do
  curl -fsS "http://127.0.0.1:$port/readyz" >/dev/null 2>&1 && break
  kill -0 "$pid" 2>/dev/null || { echo "evsim exited; see $artifacts/evsim.log" >&2; exit 1; }
  sleep 0.2
done

EVSIM_E2E_URL="http://127.0.0.1:$port" EVSIM_E2E_TOKEN="$token" EVSIM_E2E_ARTIFACTS="$artifacts" \
  go test -count=1 -run 'TestBrowserE2E$|TestBrowserDriverApp$|TestBrowserWeatherView$' -v ./internal/web/
echo "screenshots: $artifacts/panel.png, driver-*.png, panel-plots.png, weather-view.png"
