# Two commands on a fresh machine: `make demo` and `make test`. Both create .venv on first use.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin

.PHONY: demo test sandbox ui clean bench

$(BIN)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[test]'
	touch $@

demo: $(BIN)/.installed
	$(BIN)/zsync demo

test: $(BIN)/.installed
	$(BIN)/pytest -q -n auto

# The one benchmark (README "Benchmarks"): `zsync bench --help` for sizes and the latency model.
bench: $(BIN)/.installed
	$(BIN)/zsync bench --json data/bench.json

sandbox: $(BIN)/.installed
	$(BIN)/zsync sandbox

ui: $(BIN)/.installed
	DAGSTER_HOME=$(CURDIR)/data/dagster_home $(BIN)/dagster dev -w workspace.yaml

clean:
	rm -rf data/zsync.duckdb* data/sandbox data/dagster_home
