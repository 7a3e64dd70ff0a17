# The commands users of the original project know. Every target runs through npm scripts, so the
# Node pinned by the project (the `node` package, Node 22) runs them. `make help` lists them.
#
#   make dev          the local stack: gateway with embedded defaults (PGlite, files), or the
#                     PostgreSQL / MinIO this machine runs (see below)
#   make bench CONFIG=configs/quickstart.yaml
#   make deploy-k8s NAMESPACE=tokenforge
#
# `dev` (deploy/dev.sh) uses a service only when it works: PostgreSQL when TokenForge can log in
# at DEV_DATABASE_URL (DATABASE_URL is then set to it; a missing role or database is said, with
# the commands that create them, and PGlite is used), MinIO when its health endpoint at
# DEV_S3_ENDPOINT answers (TOKENFORGE_S3_* and AWS_* are then set). Otherwise the gateway keeps
# PGlite in $TOKENFORGE_DATA_DIR and artifacts in a directory. It also starts a stub worker (the
# simulated engine on port 8000) and Prometheus where installed, and lists what needs Docker.
# In containers: `make compose-up`.

SHELL := /bin/bash
.DEFAULT_GOAL := help

TOKENFORGE := npm run --silent tokenforge --
CONFIG ?= configs/benchmark.yaml
SERVER ?=
HOST ?= 127.0.0.1
PORT ?= 8080
NAMESPACE ?= tokenforge
REGISTRY ?= ghcr.io/tokenforge
TAG ?= dev
DOCKER ?= docker
DEV_DATABASE_URL ?= postgres://tokenforge:tokenforge@127.0.0.1:5432/tokenforge
DEV_S3_ENDPOINT ?= http://127.0.0.1:9000
DEV_S3_BUCKET ?= tokenforge
DEV_S3_USER ?= minioadmin
DEV_S3_PASSWORD ?= minioadmin

# image name -> Dockerfile
IMAGES := gateway worker worker-transformers vllm
DOCKERFILE_gateway := deploy/docker/gateway.Dockerfile
DOCKERFILE_worker := deploy/docker/worker-llamacpp.Dockerfile
DOCKERFILE_worker-transformers := deploy/docker/worker-transformers.Dockerfile
DOCKERFILE_vllm := deploy/docker/vllm.Dockerfile

.PHONY: help install build dev run-api bench quickstart test lint typecheck deploy-k8s images \
	$(addprefix image-,$(IMAGES)) docker-engine compose-up compose-down

help: ## list the targets
	@grep -E '^[a-zA-Z0-9_-]+:.*## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*## "} {printf "  %-16s %s\n", $$1, $$2}'

node_modules: package.json package-lock.json
	npm install --no-audit --no-fund
	@touch node_modules

install: node_modules ## npm install (installs the pinned Node 22 too)

build: node_modules ## compile TypeScript into dist/
	npm run build

dev: build ## the local stack: gateway, stub worker (sim), Prometheus where installed, and whatever services answer
	@HOST="$(HOST)" PORT="$(PORT)" DEV_DATABASE_URL="$(DEV_DATABASE_URL)" DEV_S3_ENDPOINT="$(DEV_S3_ENDPOINT)" \
	  DEV_S3_BUCKET="$(DEV_S3_BUCKET)" DEV_S3_USER="$(DEV_S3_USER)" DEV_S3_PASSWORD="$(DEV_S3_PASSWORD)" \
	  bash deploy/dev.sh

run-api: build ## the gateway alone: tokenforge serve (PGlite, or DATABASE_URL when set)
	$(TOKENFORGE) serve --host "$(HOST)" --port "$(PORT)"

# configs/benchmark.yaml names vllm and transformers: give them `targets` (servers already
# running) in the config, or pick another CONFIG (configs/quickstart.yaml runs locally).
bench: build ## tokenforge bench $(CONFIG) (SERVER=http://… runs it on a gateway)
	$(TOKENFORGE) bench "$(CONFIG)" $(if $(SERVER),--server "$(SERVER)")

quickstart: build ## a real benchmark on synthetic:tiny, no config (npm run quickstart)
	npm run quickstart

test: node_modules ## the test suite
	npm test

lint: node_modules ## biome; hadolint and actionlint too where installed
	npm run lint
	@if command -v hadolint >/dev/null 2>&1; then hadolint deploy/docker/*.Dockerfile; \
	else echo "lint: hadolint not installed (test/deploy/images.test.ts checks the Dockerfiles)"; fi
	@if command -v actionlint >/dev/null 2>&1; then actionlint; \
	else echo "lint: actionlint not installed (test/deploy/images.test.ts checks the workflows)"; fi

typecheck: node_modules ## tsc --noEmit
	npm run typecheck

deploy-k8s: ## kubectl apply -k deploy/k8s, then wait for the gateway
	@command -v kubectl >/dev/null 2>&1 || { echo "deploy-k8s: kubectl is not installed (https://kubernetes.io/docs/tasks/tools/)"; exit 1; }
	@kubectl cluster-info --request-timeout=5s >/dev/null 2>&1 || { \
	  echo "deploy-k8s: no Kubernetes cluster answers at kubectl's current context ($$(kubectl config current-context 2>/dev/null || echo none set))."; \
	  echo "deploy-k8s: start or choose one first (kind create cluster, minikube start, or kubectl config use-context NAME); docs/kubernetes.md"; \
	  exit 1; }
	kubectl apply -k deploy/k8s
	kubectl -n "$(NAMESPACE)" rollout status deployment/gateway --timeout=10m

images: $(addprefix image-,$(IMAGES)) ## docker build every image as $(REGISTRY)/<name>:$(TAG)

# Building and running containers needs a Docker engine, not only the client: say so first.
docker-engine:
	@command -v $(DOCKER) >/dev/null 2>&1 || { echo "$(DOCKER) is not installed: images and compose need Docker (https://docs.docker.com/engine/install/)"; exit 1; }
	@$(DOCKER) info >/dev/null 2>&1 || { \
	  echo "no Docker engine answers ($(DOCKER) info failed): start the Docker daemon (or Docker Desktop), or use make dev, which runs without containers"; \
	  exit 1; }

$(addprefix image-,$(IMAGES)): image-%: docker-engine
	DOCKER_BUILDKIT=1 $(DOCKER) build -f $(DOCKERFILE_$*) -t $(REGISTRY)/$*:$(TAG) .

compose-up: docker-engine ## the whole stack in containers (docker-compose.yml)
	$(DOCKER) compose up --build -d

compose-down: docker-engine ## stop it (volumes kept)
	$(DOCKER) compose down
