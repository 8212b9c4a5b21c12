# The two commands of the README: `make run` and `make test`. Both set up .venv first.
PY := .venv/bin/python

.PHONY: setup setup-test run test lint bench figures
setup:
	@bash scripts/setup.sh

# Tests also install the optional Ray group so the Ray-launcher test runs.
setup-test:
	@ABM_EXTRAS=dev,ray bash scripts/setup.sh

run: setup
	$(PY) -m abm

test: setup-test
	$(PY) -m pytest -n 2 --dist loadfile -q

lint: setup
	$(PY) -m ruff check abm analysis tests

bench: setup
	$(PY) -m abm.bench market
	$(PY) -m abm.bench model

figures: setup
	$(PY) -m analysis.figures
