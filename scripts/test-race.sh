#!/usr/bin/env bash
# The race-detector stage of `make test`: `go test -race -count=1` over every
# package, in two runs side by side — internal/e2e (real processes, ~10 min,
# mostly waiting on them) from the start, the other packages one at a time
# beside it. `go test ./...` started internal/e2e last of ~35 packages, so
# the stage took the others' time plus its own.
set -uo pipefail
cd "$(dirname "$0")/.."
GO=${GO:-go}
slow=./internal/e2e/
"$GO" test -race -count=1 "$@" "$slow" &
slow_pid=$!
# shellcheck disable=SC2046 # package list, one word each
"$GO" test -race -count=1 -p 1 "$@" $("$GO" list ./... | grep -v '/internal/e2e$')
rest=$?
wait "$slow_pid"
slow_code=$?
if [ "$rest" != 0 ] || [ "$slow_code" != 0 ]; then
  echo "test-race: FAIL (internal/e2e exit $slow_code, other packages exit $rest)" >&2
  exit 1
fi
