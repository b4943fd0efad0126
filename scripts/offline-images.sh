#!/usr/bin/env bash
# Builds local stand-ins for the three base images deploy/ uses, from package
# registries only, for machines that reach no container registry (CI):
#
#   evsim-offline/runtime:busybox  for RUNTIME_IMAGE (alpine): FROM scratch + Debian's busybox-static
#   evsim-offline/golang:1.26      for GO_IMAGE (golang): this host's Go toolchain, plus the module
#                                  cache of go.sum, so the Dockerfile's build stage needs no network
#   evsim-offline/kafka:3.7.2      for KAFKA_IMAGE (apache/kafka): Debian minbase (debootstrap) + a JRE
#                                  (apt) + the Maven Central jars of scripts/kafka.sh, with the same
#                                  KAFKA_* variables, paths and user as the official image
#
#   scripts/offline-images.sh build   build what is missing or stale (idempotent: a second run takes seconds)
#   scripts/offline-images.sh env     print the exports that point deploy/ at these images
#
# Needs a Docker engine (DOCKER_HOST; scripts/dockerd.sh starts one), busybox-static and debootstrap
# (scripts/setup.sh installs them). A machine with internet needs none of this: the defaults are the
# official images. Knobs: DEBIAN_MIRROR (http://deb.debian.org/debian), DEBIAN_SUITE (bookworm).
set -euo pipefail
cd "$(dirname "$0")/.."

RUNTIME=evsim-offline/runtime:busybox
GOIMG=evsim-offline/golang:1.26
KAFKA_VERSION=${KAFKA_VERSION:-3.7.2}
KAFKAIMG=evsim-offline/kafka:$KAFKA_VERSION
JREBASE=evsim-offline/debian-jre:17
DEBIAN_MIRROR=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
DEBIAN_SUITE=${DEBIAN_SUITE:-bookworm}
work=.cache/offline-images

say() { echo "offline-images: $*" >&2; }

# quietly CMD...: run a docker build; show its output only when it fails
# (the classic builder's deprecation notice is noise here).
quietly() {
  local out
  if ! out=$("$@" 2>&1); then
    printf '%s\n' "$out" >&2
    return 1
  fi
}

# label IMAGE prints the image's evsim.key label, empty when the image is absent.
label() { docker image inspect -f '{{index .Config.Labels "evsim.key"}}' "$1" 2>/dev/null || true; }

# fresh IMAGE KEY: the image exists and was built from inputs with this key.
fresh() {
  if [ "$(label "$1")" = "$2" ]; then
    say "$1 is up to date"
    return 0
  fi
  return 1
}

# timed NAME CMD...: run and say how long it took.
timed() {
  local name=$1 t0=$SECONDS
  shift
  "$@"
  say "$name built in $((SECONDS - t0)) s"
}

# base_rootfs DIR: busybox and the files a non-root process expects.
base_rootfs() {
  local dir=$1 bb
  bb=$(command -v busybox)
  mkdir -p "$dir/bin" "$dir/etc" "$dir/tmp" "$dir/root"
  chmod 1777 "$dir/tmp"
  cp "$bb" "$dir/bin/busybox"
  for applet in $("$bb" --list); do
    [ "$applet" = busybox ] || ln -sf busybox "$dir/bin/$applet"
  done
  printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n' >"$dir/etc/passwd"
  printf 'root:x:0:\nnobody:x:65534:\n' >"$dir/etc/group"
}

build_runtime() {
  local key dir
  key="busybox $(sha256sum "$(command -v busybox)" | cut -c1-16)"
  fresh "$RUNTIME" "$key" && return 0
  dir=$work/runtime
  rm -rf "$dir"
  base_rootfs "$dir"
  tar -C "$dir" -c . | docker import --change "LABEL evsim.key=\"$key\"" \
    --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    --change 'CMD ["/bin/sh"]' - "$RUNTIME" >/dev/null
}

build_go() {
  local key dir goroot
  goroot=$(go env GOROOT)
  key="$(go version) go.sum $(sha256sum go.sum | cut -c1-16)"
  fresh "$GOIMG" "$key" && return 0
  dir=$work/golang
  rm -rf "$dir"
  base_rootfs "$dir"
  mkdir -p "$dir/usr/local" "$dir/go/pkg/mod/cache"
  # The toolchain without its tests and docs.
  tar -C "$(dirname "$goroot")" --exclude="$(basename "$goroot")/test" \
    --exclude="$(basename "$goroot")/api" --exclude="$(basename "$goroot")/doc" \
    -c "$(basename "$goroot")" | tar -C "$dir/usr/local" -x
  [ "$(basename "$goroot")" = go ] || mv "$dir/usr/local/$(basename "$goroot")" "$dir/usr/local/go"
  # The modules go.sum names, copied out of this host's module cache (the
  # host fetched them through its own proxy settings; the build needs none).
  GOPROXY="file://$(go env GOMODCACHE)/cache/download,$(go env GOPROXY)" \
    GOMODCACHE="$(pwd)/$dir/go/pkg/mod" GOFLAGS=-mod=mod go mod download
  rm -rf "$dir/go/pkg/mod/cache/vcs"
  find "$dir/go/pkg/mod" -mindepth 1 -maxdepth 1 ! -name cache -exec rm -rf {} +
  chmod -R u+w "$dir/go"
  tar -C "$dir" -c . | docker import --change "LABEL evsim.key=\"$key\"" \
    --change 'ENV PATH=/usr/local/go/bin:/go/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    --change 'ENV GOPATH=/go' --change 'ENV GOPROXY=off' --change 'ENV GOTOOLCHAIN=local' \
    --change 'ENV HOME=/root' --change 'WORKDIR /go' --change 'CMD ["/bin/sh"]' - "$GOIMG" >/dev/null
  rm -rf "$dir"
}

build_jre() {
  local key="$DEBIAN_SUITE minbase openjdk-17-jre-headless" dir=$work/debian
  fresh "$JREBASE" "$key" && return 0
  command -v debootstrap >/dev/null || { say "debootstrap is not installed (scripts/setup.sh installs it)"; exit 1; }
  rm -rf "$dir"
  mkdir -p "$dir"
  debootstrap --variant=minbase "$DEBIAN_SUITE" "$dir" "$DEBIAN_MIRROR" >"$work/debootstrap.log" 2>&1 ||
    { say "debootstrap failed; see $work/debootstrap.log"; tail -n 20 "$work/debootstrap.log" >&2; exit 1; }
  tar -C "$dir" -c . | docker import - evsim-offline/debian:"$DEBIAN_SUITE" >/dev/null
  rm -rf "$dir"
  # The build reaches the Debian mirror through the host's network (the
  # engine of scripts/dockerd.sh has no default bridge).
  printf 'FROM evsim-offline/debian:%s\nRUN apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends openjdk-17-jre-headless >/dev/null && rm -rf /var/lib/apt/lists/*\nLABEL evsim.key="%s"\n' \
    "$DEBIAN_SUITE" "$key" | quietly docker build -q --network host -t "$JREBASE" -
}

build_kafka() {
  local key ctx
  bash scripts/kafka.sh fetch
  key="kafka $KAFKA_VERSION $(cat deploy/offline/kafka/* | sha256sum | cut -c1-16)"
  fresh "$KAFKAIMG" "$key" && return 0
  ctx=$work/kafka
  rm -rf "$ctx"
  mkdir -p "$ctx"
  cp -r deploy/offline/kafka/. "$ctx/"
  cp -r .cache/kafka/libs "$ctx/libs"
  rm -f "$ctx"/libs/.complete-*
  quietly docker build -q --build-arg "BASE_IMAGE=$JREBASE" --label "evsim.key=$key" \
    -f "$ctx/Dockerfile" -t "$KAFKAIMG" "$ctx"
  rm -rf "$ctx"
}

case "${1:-}" in
  build)
    mkdir -p "$work"
    timed "$RUNTIME" build_runtime
    timed "$GOIMG" build_go
    timed "$JREBASE" build_jre
    timed "$KAFKAIMG" build_kafka
    ;;
  env)
    echo "export RUNTIME_IMAGE=$RUNTIME GO_IMAGE=$GOIMG KAFKA_IMAGE=$KAFKAIMG"
    ;;
  *) echo "usage: scripts/offline-images.sh build|env" >&2; exit 2 ;;
esac
