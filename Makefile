# The two commands of the README: `make run` and `make test`. Both set up .venv first.
PY := .venv/bin/python

.PHONY: setup run test lint bench figures
setup:
	@bash scripts/setup.sh

run: setup
	$(PY) -m abm

test: setup
	$(PY) -m pytest -n 2 -q

lint: setup
	$(PY) -m ruff check abm analysis tests

bench: setup
	$(PY) -m abm.bench market
	$(PY) -m abm.bench model

figures: setup
	$(PY) -m analysis.figures
