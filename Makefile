# Xiaopu — the commands a developer and CI use. Each installs or starts what it needs.
SHELL := /bin/bash
CARGO ?= cargo
# How events travel between services: outbox (each producer's WatchEvents stream) or
# jetstream (NATS JetStream on a local nats-server): `make run FEED=jetstream`.
FEED ?= outbox
export FEED

.PHONY: run up down test lint fmt clippy proto-lint sqlx-prepare build bench kube-play

## run: build, start PostgreSQL and every service, play the demo; leaves the system up
run: up
	@deploy/local/demo.sh
	@echo
	@echo "The system is up. Point the CLI at it and call it yourself:"
	@echo "  source target/local/env"
	@echo "  target/debug/xiaopu --as promoter:p1 eligibility check --person p1"
	@echo "Stop everything with: make down"

## up: start PostgreSQL and every service as local processes (the chart's settings); FEED=jetstream adds NATS
up:
	@deploy/local/services.sh up

## down: stop every process `make up` started
down:
	@deploy/local/services.sh down

## test: every test of the workspace against a throwaway PostgreSQL, and the proto lint
test:
	@deploy/local/test.sh

## lint: formatting, clippy with warnings as errors, buf lint
lint: fmt clippy proto-lint

fmt:
	$(CARGO) fmt --all -- --check

clippy:
	$(CARGO) clippy --workspace --all-targets -- -D warnings

proto-lint:
	@deploy/tools/buf.sh lint

build:
	$(CARGO) build --workspace --bins

## sqlx-prepare: regenerate the .sqlx query data after changing a query or migration
sqlx-prepare:
	@deploy/local/sqlx-prepare.sh

## bench: the services as release binaries under load, each figure beside a same-run baseline
bench:
	@deploy/local/bench.sh $(BENCH_ARGS)

## kube-play: the chart under podman kube play: an image of the release binaries (no registry), health and hardening checked
kube-play:
	@deploy/kube-play/run.sh
