# pytest-slo: every target sets up what it needs (Debian packages, the virtualenv) first.
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
OUT    ?= out
SITE   ?=
APP    ?=
PYTEST_ARGS ?=
MODULE ?=
TESTS  ?= unit
FAIL_UNDER ?=

.PHONY: help setup system-deps demo demo-offline test test-unit test-app lint bench mutate mutate-clean clean

help:
	@echo "make demo                 run the gate on the shipped example (live, against a local stack)"
	@echo "make test                 run pytest-slo's own test suite (unit tests first, then the real servers)"
	@echo "make test-unit            only the tests that need no server (seconds)"
	@echo "make test-app APP=redis-cluster [SITE=production]   the merge gate for one app"
	@echo "make lint                 ruff + mypy"
	@echo "make bench                the benchmark harness (prints ratios, writes benchmarks/RESULTS.md)"
	@echo "make mutate [MODULE=pytest_slo/units.py] [TESTS=all] [FAIL_UNDER=90]   mutation testing of the verdict modules (unit tests, no servers)"

# system-deps also installs the Node tools of package-lock.json (npm ci): markdownlint-cli2 and
# the SARIF Multitool, which the tests check the Markdown and SARIF reports with
$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test,lint]'
	touch $@

setup: $(VENV)/.installed

system-deps:
	./scripts/system-deps.sh

demo: system-deps setup
	$(PY) -m teststack.demo --out $(OUT)

demo-offline: setup
	$(PY) -m pytest --site production --findings=$(OUT)/findings.json --findings-md=$(OUT)/findings.md

test: system-deps setup
	$(PY) -m pytest tests -p no:cacheprovider -n 2 $(PYTEST_ARGS)

test-unit: setup
	$(PY) -m pytest tests -p no:cacheprovider -m "not servers and not wheel" $(PYTEST_ARGS)

test-app: setup
	@test -n "$(APP)" || { echo "usage: make test-app APP=<app> [SITE=<site>]"; exit 2; }
	$(PY) -m pytest --app $(APP) $(if $(SITE),--site $(SITE)) -p no:cacheprovider $(PYTEST_ARGS)

lint: setup
	$(VENV)/bin/ruff check pytest_slo tests benchmarks teststack mutation
	$(VENV)/bin/mypy

# The verdict modules are [tool.mutmut] only_mutate in pyproject.toml; MODULE narrows to one
# (or a class or function: MODULE=pytest_slo/catalog/waivers.py::Waiver). TESTS=all adds the
# in-process pytester runs; PYTEST_ARGS adds pytest arguments (--ignore=...). Equivalent mutants:
# mutation/EQUIVALENT.md.
$(VENV)/.installed-mutate: $(VENV)/.installed
	$(PY) -m pip install --quiet -e '.[test,lint,mutate]'
	touch $@

mutate: $(VENV)/.installed-mutate
	$(PY) mutation/run.py --tests=$(TESTS) $(if $(FAIL_UNDER),--fail-under=$(FAIL_UNDER)) $(if $(PYTEST_ARGS),--pytest-args='$(PYTEST_ARGS)') $(MODULE)

mutate-clean:
	rm -rf mutants

bench: system-deps setup
	$(PY) benchmarks/run.py

clean:
	rm -rf $(VENV) $(OUT) mutants .pytest_cache .mypy_cache .ruff_cache build *.egg-info
