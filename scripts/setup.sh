#!/usr/bin/env bash
# Installs what evsim's tests need on a fresh Debian machine. Idempotent: it
# installs only what is missing, so a second run takes a second.
set -euo pipefail
cd "$(dirname "$0")/.."

need_apt=()
command -v kcat >/dev/null 2>&1 || need_apt+=(kcat)
command -v chromium >/dev/null 2>&1 || need_apt+=(chromium)
command -v docker-compose >/dev/null 2>&1 || need_apt+=(docker-compose)
# make test-compose: a Docker engine of our own (scripts/dockerd.sh) and what
# scripts/offline-images.sh builds base images from.
command -v dockerd >/dev/null 2>&1 || need_apt+=(docker.io)
command -v debootstrap >/dev/null 2>&1 || need_apt+=(debootstrap)
[ -x /bin/busybox ] || need_apt+=(busybox-static)
command -v mvn >/dev/null 2>&1 || need_apt+=(maven)
command -v java >/dev/null 2>&1 || need_apt+=(openjdk-17-jre-headless)
if [ ${#need_apt[@]} -gt 0 ]; then
  echo "setup: installing ${need_apt[*]} with apt-get"
  sudo=""; [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${need_apt[@]}" >/dev/null
fi

# Go modules of the product and of the tools module (buf, protoc-gen-go).
go mod download
go mod download -modfile=tools/go.mod

# Apache Kafka jars from Maven Central, for the integration suite.
bash scripts/kafka.sh fetch
echo "setup: done"
