# tenantlake — the README's two commands are `make demo` and `make test`.
SHELL := /bin/bash
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
export DO_NOT_TRACK := 1
export DBT_SEND_ANONYMOUS_USAGE_STATS := false
export GX_ANALYTICS_ENABLED := false
export MLFLOW_ENABLE_TELEMETRY := false
export STREAMLIT_BROWSER_GATHER_USAGE_STATS := false
export PIP_DISABLE_PIP_VERSION_CHECK := 1

.PHONY: help install demo test dashboard dagster mlflow lock clean

help:  ## show the targets
	@grep -E '^[a-z-]+:.*##' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'

$(STAMP): requirements.lock pyproject.toml
	@command -v $(PYTHON) >/dev/null || { echo "tenantlake needs $(PYTHON) on PATH (or: make PYTHON=/path/to/python3.11 ...)"; exit 1; }
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade "pip>=24"
	$(BIN)/python -m pip install --quiet --no-deps -r requirements.lock
	$(BIN)/python -m pip install --quiet --no-deps -e . --config-settings editable_mode=compat
	$(BIN)/python -m pip check
	touch $(STAMP)

install: $(STAMP)  ## create .venv and install the locked dependencies

demo: $(STAMP)  ## generate the demo tenants and run the whole pipeline through Dagster
	$(BIN)/tenantlake demo run

test: $(STAMP)  ## run the whole test suite (starts its own PostgreSQL when needed)
	$(BIN)/python -m pytest -n 2 --dist loadgroup $(PYTEST_ARGS)

dashboard: $(STAMP)  ## open the Streamlit dashboards on http://127.0.0.1:8501
	$(BIN)/tenantlake ui dashboard

dagster: $(STAMP)  ## open the Dagster UI on http://127.0.0.1:3000
	$(BIN)/tenantlake ui dagster

mlflow: $(STAMP)  ## open the MLflow UI on http://127.0.0.1:5000
	$(BIN)/tenantlake ui mlflow

lock:  ## re-resolve pyproject.toml into requirements.lock (then commit it)
	rm -rf /tmp/tenantlake-lock && $(PYTHON) -m venv /tmp/tenantlake-lock
	/tmp/tenantlake-lock/bin/pip install --quiet -e .
	/tmp/tenantlake-lock/bin/pip freeze --exclude-editable | grep -v '^tenantlake' > requirements.lock

clean:  ## remove the project home (.tenantlake) — lake, warehouse, Dagster and MLflow state
	rm -rf .tenantlake
