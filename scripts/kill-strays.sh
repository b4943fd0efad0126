#!/usr/bin/env bash
# Kills what an earlier, killed test run left behind: processes whose
# executable lives where tests put binaries (${TMPDIR:-/tmp}/Test*/ from
# t.TempDir, /tmp/evsim-bin*/, go test binaries under /tmp/go-build*/) and
# that no live `go` or test binary (*.test) has among its ancestors. A test
# that still runs (this machine's or another checkout's) keeps its processes;
# only orphans go. Since internal/testutil.Command ties children to their
# test, this is a safety net for runs of older code. Linux (/proc) only.
set -uo pipefail

tmp=${TMPDIR:-/tmp}
tmp=${tmp%/}

# owned_by_a_test PID: a live go command or test binary is an ancestor.
owned_by_a_test() {
  local p=$1 exe
  while :; do
    p=$(awk '/^PPid:/ {print $2}' "/proc/$p/status" 2>/dev/null) || return 1
    [ -n "$p" ] && [ "$p" -gt 1 ] || return 1
    exe=$(readlink "/proc/$p/exe" 2>/dev/null) || return 1
    case ${exe% (deleted)} in
      */go | *.test) return 0 ;;
    esac
  done
}

killed=0
for dir in /proc/[0-9]*; do
  pid=${dir#/proc/}
  [ "$pid" = $$ ] && continue
  exe=$(readlink "$dir/exe" 2>/dev/null) || continue
  exe=${exe% (deleted)}
  case $exe in
    "$tmp"/Test*/* | /tmp/evsim-bin*/* | "$tmp"/go-build*/*.test) ;;
    *) continue ;;
  esac
  owned_by_a_test "$pid" && continue
  echo "kill-strays: killing pid $pid ($exe), left by an earlier test run"
  kill -KILL "$pid" 2>/dev/null && killed=$((killed + 1))
done
[ "$killed" = 0 ] || echo "kill-strays: killed $killed leftover process(es)"
exit 0
