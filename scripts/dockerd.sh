#!/usr/bin/env bash
# A Docker engine of our own for the compose suite, on machines without one
# running (CI, a fresh Debian box with no systemd). It touches nothing else:
# its own data root, exec root, socket and address pool; it is stopped by the
# PID it was started with.
#
#   scripts/dockerd.sh up       start dockerd (idempotent) and wait until it answers
#   scripts/dockerd.sh down     stop it (SIGTERM, SIGKILL after 30 s); images are kept
#   scripts/dockerd.sh status   exit 0 if the dockerd we started answers
#   scripts/dockerd.sh env      print `export DOCKER_HOST=...` for this engine
#
# Knobs (environment): EVSIM_DOCKERD_HOME (.cache/dockerd: data, socket, log),
# EVSIM_DOCKERD_POOL (10.213.0.0/16, the subnets of compose networks, /24 each).
set -euo pipefail
cd "$(dirname "$0")/.."

home=${EVSIM_DOCKERD_HOME:-$(pwd)/.cache/dockerd}
pool=${EVSIM_DOCKERD_POOL:-10.213.0.0/16}
sock=$home/docker.sock
pidfile=$home/dockerd.pid
logfile=$home/dockerd.log

say() { echo "dockerd.sh: $*" >&2; }
. scripts/pidfile.sh # running, stop_pidfile

answers() {
  DOCKER_HOST=unix://$sock docker version --format '{{.Server.Version}}' >/dev/null 2>&1
}

up() {
  command -v dockerd >/dev/null || { say "dockerd is not installed (scripts/setup.sh installs docker.io)"; exit 1; }
  mkdir -p "$home/data" "$home/exec"
  if running; then
    say "already running (pid $(cat "$pidfile"))"
  else
    rm -f "$sock"
    # --bridge none: no docker0 of ours next to another engine's; compose
    # makes its own networks from the pool.
    nohup dockerd --data-root "$home/data" --exec-root "$home/exec" \
      --pidfile "$home/dockerd.daemon.pid" -H "unix://$sock" --bridge none \
      --default-address-pool "base=$pool,size=24" >"$logfile" 2>&1 &
    echo $! >"$pidfile"
    say "started dockerd (pid $!, socket $sock, log $logfile)"
  fi
  for _ in $(seq 1 120); do
    if answers; then
      return 0
    fi
    running || break
    sleep 0.5
  done
  say "dockerd did not answer; last lines of its log:"
  tail -n 20 "$logfile" >&2 || true
  down
  exit 1
}

down() {
  stop_pidfile dockerd || return 0
  # dockerd leaves its default network namespace mounted in the exec root.
  if mountpoint -q "$home/exec/netns/default" 2>/dev/null; then
    umount "$home/exec/netns/default" || say "could not unmount $home/exec/netns/default"
  fi
  say "stopped"
}

case "${1:-}" in
  up) up ;;
  down) down ;;
  status) running && answers ;;
  env) echo "export DOCKER_HOST=unix://$sock DOCKER_BUILDKIT=0 COMPOSE_DOCKER_CLI_BUILD=0" ;;
  *) echo "usage: scripts/dockerd.sh up|down|status|env" >&2; exit 2 ;;
esac
