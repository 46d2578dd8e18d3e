VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip
PYTEST_ARGS ?=

.PHONY: test lint typecheck install run plan clean bench bench-sweeps

# Dependencies at the versions of requirements-dev.lock (hash-checked; the image installs the
# same versions from requirements.lock), then the project itself, editable, without dependencies.
# After changing dependencies in pyproject.toml, re-run the pip-compile command in each lock
# file's header (requirements-dev.lock first, then requirements.lock seeded with its pins).
$(VENV)/.installed: pyproject.toml requirements-dev.lock
	test -x $(PY) || python3 -m venv $(VENV)
	$(PIP) install -q --upgrade pip
	$(PIP) install -q --require-hashes -r requirements-dev.lock
	$(PIP) install -q --no-deps -e .
	$(PIP) check
	touch $@

install: $(VENV)/.installed

lint: install
	$(VENV)/bin/ruff check daemon remediations sandbox tests benchmarks
	$(VENV)/bin/ruff format --check daemon remediations sandbox tests benchmarks
	$(VENV)/bin/mypy
	$(VENV)/bin/lint-imports
	$(VENV)/bin/cfn-lint deploy/cloudformation/*.yaml

test: install lint
	$(VENV)/bin/pytest -q $(PYTEST_ARGS)

# The daemon against the bundled sandbox, with a scripted actor making drift. Ctrl-C stops all
# in order and exits 0 (make then prints nothing); a second Ctrl-C kills them at once (130).
# The shell's AWS settings do not reach it. DEMO_FLAGS: e.g. --port 4567 --metrics-port 8081.
DEMO_FLAGS ?=
run: install
	$(VENV)/bin/flink-remediator demo $(DEMO_FLAGS)

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache build *.egg-info

# Queue sweeps (--sweep-source queue) with 1 and 3 replicas over SWEEP_APPS apps.
SWEEP_APPS ?= 1500
bench-sweeps: install
	$(VENV)/bin/python -m benchmarks.queue_sweeps --apps $(SWEEP_APPS)

# The benchmark suite (figures only, never part of `make test`): N apps in one sandbox, the
# bare-boto3 floor, plan, apply, the daemon's sweep and a burst, route throughput; one table.
# Then the daemon's memory by phase with N apps (benchmarks/memory.py, its own quick seeding)
# its rate limits under a full resync, steady and throttled, and its steady-state sweep
# (benchmarks/rate.py); one /metrics scrape at N apps x every rule (benchmarks/scrape.py);
# one app changed by each kind of side change, events lost then delivered (benchmarks/side_changes.py).
N ?= 500
bench: install
	$(VENV)/bin/python -m benchmarks.suite --apps $(N)
	$(VENV)/bin/python -m benchmarks.memory --apps $(N)
	$(VENV)/bin/python -m benchmarks.rate --apps $(N)
	$(VENV)/bin/python -m benchmarks.scrape --apps $(N)
	$(VENV)/bin/python -m benchmarks.side_changes --apps $(N)
