# Sourced by scripts that start a background server and keep its pid in a
# file (kafka.sh, dockerd.sh). The caller sets $pidfile and defines say().

# running: the process of $pidfile is alive.
running() {
  [ -f "$pidfile" ] && kill -0 "$(cat "$pidfile")" 2>/dev/null
}

# stop_pidfile NAME: SIGTERM, 30 s to stop, then SIGKILL; the pid file goes.
# It fails (status 1) when nothing was running.
stop_pidfile() {
  if ! running; then
    rm -f "$pidfile"
    return 1
  fi
  local pid
  pid=$(cat "$pidfile")
  kill -TERM "$pid" 2>/dev/null || true
  for _ in $(seq 1 60); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.5
  done
  if kill -0 "$pid" 2>/dev/null; then
    say "$1 (pid $pid) did not stop in 30 s; killing it"
    kill -KILL "$pid" 2>/dev/null || true
  fi
  rm -f "$pidfile"
}
