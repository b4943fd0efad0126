#!/usr/bin/env bash
# make test-compose: deploy/compose.yaml for real, in containers.
#
#   1. what it needs (scripts/setup.sh: docker.io, docker-compose, debootstrap, busybox-static)
#   2. a Docker engine: the one at DOCKER_HOST if it answers, else our own (scripts/dockerd.sh),
#      stopped again on exit
#   3. base images: the official ones when EVSIM_OFFICIAL_IMAGES=1, else local stand-ins
#      (scripts/offline-images.sh; CI reaches no container registry)
#   4. the evsim image (deploy/Dockerfile), once
#   5. deploy's TestComposeLive (EVSIM_COMPOSE=1): up, healthy, logs, tickets (with the
#      Registry's tokens), late broker, faults, a revocation, make down; and
#      TestComposeThreeMachines (three projects, one shared network, B enrolling at A's Registry);
#      TestComposeSecureLive (compose.secure.yaml on top: Kafka SASL_SSL + SCRAM-SHA-512, mutual
#      TLS on the actor remote; one charge point and one driver: healthy, a ticket, a wrong
#      password, an untrusted CA and a remote client without a certificate refused);
#      TestComposeScaleLive (compose.scale.yaml, --scale central=3: 3 members covering every
#      partition, a Central killed mid-supply, its charge points ACTIVATED at the others, one
#      ticket per supply)
# Each step prints how long it took. Published ports are chosen free by the test.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/kill-strays.sh

t0=$SECONDS
step_start=$SECONDS
times=()
step() {
  times+=("$(printf '  %-44s %4d s' "$1" $((SECONDS - step_start)))")
  step_start=$SECONDS
}
report() {
  echo "test-compose: where the time went"
  printf '%s\n' "${times[@]}"
  printf '  %-44s %4d s\n' "total" $((SECONDS - t0))
}

bash scripts/setup.sh
step "setup (installs only what is missing)"

started_engine=0
if [ -n "${DOCKER_HOST:-}" ] && docker version >/dev/null 2>&1; then
  echo "test-compose: using the Docker engine at $DOCKER_HOST"
elif bash scripts/dockerd.sh status; then
  echo "test-compose: using the engine scripts/dockerd.sh started before (left running)"
  eval "$(bash scripts/dockerd.sh env)"
else
  bash scripts/dockerd.sh up
  started_engine=1
  eval "$(bash scripts/dockerd.sh env)"
fi
export DOCKER_BUILDKIT=${DOCKER_BUILDKIT:-0} COMPOSE_DOCKER_CLI_BUILD=${COMPOSE_DOCKER_CLI_BUILD:-0}
cleanup() {
  code=$?
  if [ "$started_engine" = 1 ]; then
    bash scripts/dockerd.sh down
    # Nothing of ours may outlive the run: no shim, no container process.
    left=$(pgrep -f "$(pwd)/.cache/dockerd" || true)
    if [ -n "$left" ]; then
      echo "test-compose: processes left behind by the engine: $left" >&2
      code=1
    fi
    mounts=$(grep -c " $(pwd)/.cache/dockerd" /proc/mounts || true)
    if [ "$mounts" != 0 ]; then
      echo "test-compose: $mounts mounts left behind by the engine under .cache/dockerd" >&2
      code=1
    fi
  fi
  report
  exit "$code"
}
trap cleanup EXIT
step "Docker engine"

if [ "${EVSIM_OFFICIAL_IMAGES:-0}" != 1 ]; then
  bash scripts/offline-images.sh build
  eval "$(bash scripts/offline-images.sh env)"
  step "base images (scripts/offline-images.sh)"
fi

export EVSIM_IMAGE=${EVSIM_IMAGE:-evsim:local}
if ! out=$(docker build -q -f deploy/Dockerfile -t "$EVSIM_IMAGE" \
  --build-arg "GO_IMAGE=${GO_IMAGE:-golang:1.26}" --build-arg "RUNTIME_IMAGE=${RUNTIME_IMAGE:-alpine:3.22}" . 2>&1); then
  printf '%s\n' "$out" >&2
  exit 1
fi
echo "test-compose: $EVSIM_IMAGE is $(docker image inspect -f '{{.Size}}' "$EVSIM_IMAGE" | awk '{printf "%.1f MB", $1/1e6}')"
step "evsim image (deploy/Dockerfile)"

EVSIM_COMPOSE=1 go test -count=1 -v -timeout 20m -run 'TestCompose(Live|ThreeMachines|SecureLive|ScaleLive)$' ./deploy/
step "TestComposeLive, ThreeMachines, SecureLive, ScaleLive"
