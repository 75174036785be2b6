# Two commands on a fresh machine: `make demo` and `make test`. Both create .venv on first use.
# `make lint` checks style and types (README "Developing"); CI runs it before the tests.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin

.PHONY: demo test lint sandbox ui clean bench system-packages

# uv installs the project where pip did: the same resolution (the same versions, checked), in
# ~25 s against pip's 70-80 s on a fresh 2-core machine with no package cache (CI's budget).
# --compile-bytecode, as pip does: where PYTHONDONTWRITEBYTECODE is set (as on this machine) no
# process writes __pycache__, and without it every process the suite starts compiled Dagster's
# modules again (a CI run went from 775 s of tests to 1,022 s). uv reads no pip configuration
# (an index or wheel folder only pip.conf names): pip installs whatever uv could not.
$(BIN)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	{ $(BIN)/pip install -q --disable-pip-version-check 'uv>=0.5' \
	  && $(BIN)/uv pip install -q --compile-bytecode --python $(BIN)/python -e '.[test]'; } \
	  || $(BIN)/pip install -q -e '.[test]'
	touch $@

demo: $(BIN)/.installed
	$(BIN)/zsync demo

# One worker more than this machine's 2 cores: the end-to-end tests wait on sockets and
# subprocesses, and 2 workers kept 1.3 cores busy (CI: 816 s of tests), 3 took 706 s. `--dist
# load` hands out the suite's own units (conftest.py `pytest_xdist_make_scheduler`): each module
# whose tests share one expensive module fixture (a running `make ui`, PostgreSQL, the demo) goes
# to one worker, first, and every other test on its own. Under `--dist worksteal` that scheduler
# was not used: a module's tests were spread over workers, each of which built its fixture again
# (test_ui.py's, ~80 s, three times in a CI run of 806 s). A bigger machine: `make test TEST_WORKERS=8`.
TEST_WORKERS ?= 3
# The project's own modules compiled first (0.6 s): where PYTHONDONTWRITEBYTECODE is set no process
# writes them, and each process the suite starts (zsync commands, sandboxes, Dagster's run workers)
# would compile the ~300 it imports again, ~0.4 s each.
test: $(BIN)/.installed system-packages
	$(BIN)/python -m compileall -q zsync_assets zsync_assets_tests
	$(BIN)/pytest -q -n $(TEST_WORKERS) --dist load --durations=20

# ruff (lint, then formatting) and mypy, each configured in pyproject.toml.
lint: $(BIN)/.installed
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

# Debian packages two end-to-end tests drive, installed when absent (a test that cannot find them
# fails, it does not skip): PostgreSQL's server for test_deploy_postgres.py, Chromium for the
# browser checks in test_ui.py (the Python playwright package drives it; Playwright's own browser
# download is not used). The package lists are updated only when an install from them fails.
SYSTEM_PACKAGES_MISSING = $(strip $(if $(wildcard /usr/lib/postgresql/*/bin/initdb),,postgresql) \
                                  $(if $(wildcard /usr/bin/chromium),,chromium))
SUDO := $(if $(filter 0,$(shell id -u)),,sudo)
system-packages:
ifneq ($(SYSTEM_PACKAGES_MISSING),)
	$(SUDO) apt-get install -y -q --no-install-recommends $(SYSTEM_PACKAGES_MISSING) >/dev/null \
	  || { $(SUDO) apt-get update -q >/dev/null \
	       && $(SUDO) apt-get install -y -q --no-install-recommends $(SYSTEM_PACKAGES_MISSING) >/dev/null; }
endif

# The one benchmark (README "Benchmarks"): `zsync bench --help` for sizes and the latency model.
bench: $(BIN)/.installed
	$(BIN)/zsync bench --json data/bench.json

sandbox: $(BIN)/.installed
	$(BIN)/zsync sandbox

# The Dagster UI (dg dev) with the sandboxes, unless real credentials are set; Ctrl-C stops both.
# UI_ARGS: more options of `python -m zsync_assets.ui` (e.g. --zuora-port 9810 --netsuite-port 9811).
UI_PORT ?= 3000
ui: $(BIN)/.installed
	$(BIN)/python -m zsync_assets.ui --port $(UI_PORT) $(UI_ARGS)

# Keeps data/dagster_home/dagster.yaml, which is committed.
clean:
	rm -rf data/zsync.duckdb* data/sandbox
	find data/dagster_home -mindepth 1 -maxdepth 1 ! -name dagster.yaml -exec rm -rf {} +
