# evsim — every target a developer or CI needs. `make help` lists them.
SHELL := /bin/bash
GO    ?= go
BUF   := $(GO) tool -modfile=tools/go.mod buf

.PHONY: help build test test-unit test-web-e2e test-integration test-compose logs lint generate check-generated bench sim up up-secure up-scale down kafka-up kafka-down setup

help: ## list the targets
	@grep -E '^[A-Za-z0-9_.-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-18s %s\n", $$1, $$2}'

build: ## build evsim and evnode into bin/
	$(GO) build -o bin/ ./cmd/...

setup: ## install what the tests need on a fresh machine (idempotent)
	bash scripts/setup.sh

test: setup lint check-generated ## the full test command (README, CI): lint, schemas, race tests, browser on a real evsim, real Kafka suite, containers
	GO=$(GO) bash scripts/test-race.sh
	$(MAKE) test-web-e2e
	$(MAKE) test-integration
	$(MAKE) test-compose

test-web-e2e: ## the web panel's and the driver app's browser tests (headless Chromium) against a running evsim process
	EVSIM_E2E_ARTIFACTS=$${EVSIM_E2E_ARTIFACTS:-$$(mktemp -d)} bash internal/web/e2e/against-evsim.sh

test-unit: ## fast tests only (no race detector, slow tests skipped)
	$(GO) test -short ./...

test-integration: ## the bridge/network suites against a real Apache Kafka (started and stopped here)
	bash scripts/test-integration.sh

test-compose: ## deploy/compose.yaml in real containers (starts its own Docker engine when none answers)
	bash scripts/test-compose.sh

lint: ## gofmt, go vet, buf lint, buf format
	@unformatted=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	  if [ -n "$$unformatted" ]; then echo "gofmt would change:"; echo "$$unformatted"; exit 1; fi
	$(GO) vet ./...
	$(BUF) lint
	$(BUF) format -d --exit-code

generate: ## regenerate messages/ from proto/
	$(BUF) generate

check-generated: ## fail if messages/ differs from what buf generate writes
	@tmp=$$(mktemp -d); trap 'rm -rf $$tmp' EXIT; cp -r messages $$tmp/before; \
	  $(BUF) generate && diff -r $$tmp/before messages && echo "messages/ is up to date" || \
	  { echo "messages/ is stale: run 'make generate' and commit"; exit 1; }

bench: ## benchmarks that print figures (bridge throughput, sealed vs clear, network scale)
	bash scripts/bench.sh

sim: ## run the default network in one process
	$(GO) run ./cmd/evsim

# `docker compose` (v2 plugin) when present, else Debian's docker-compose 1.29.
COMPOSE ?= $(shell docker compose version >/dev/null 2>&1 && echo "docker compose" || echo docker-compose)

up: ## start the docker compose deployment (deploy/compose.yaml; settings in deploy/.env)
	$(COMPOSE) -f deploy/compose.yaml up -d --build

up-secure: ## start the secured deployment: Kafka SASL_SSL (SCRAM-SHA-512), mutual TLS on the actor remote (deploy/compose.secure.yaml)
	$(COMPOSE) -f deploy/compose.yaml -f deploy/compose.secure.yaml up -d --build

# One host port per Central: the panels on 8080-8082, the remotes on 8090-8092 (see deploy/compose.scale.yaml).
up-scale: ## start the deployment with three Centrals of one shared Kafka group (deploy/compose.scale.yaml, --scale central=3)
	CENTRAL_HTTP_PORT=$${CENTRAL_HTTP_PORT:-8080-8082} CENTRAL_REMOTE_PORT_UPTO=$${CENTRAL_REMOTE_PORT_UPTO:--8092} \
	  $(COMPOSE) -f deploy/compose.yaml -f deploy/compose.scale.yaml up -d --build --scale central=3

down: ## stop the docker compose deployment (volumes are kept; add -v by hand to drop them)
	$(COMPOSE) -f deploy/compose.yaml down --remove-orphans

logs: ## follow the docker compose deployment's logs (all services)
	$(COMPOSE) -f deploy/compose.yaml logs -f --tail=100

kafka-up: ## start a local single-node Apache Kafka (KRaft) on 127.0.0.1:19092
	bash scripts/kafka.sh up

kafka-down: ## stop the local Apache Kafka
	bash scripts/kafka.sh down
