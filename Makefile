# The two commands of the README: `make run` and `make test`. Both set up .venv first.
PY := .venv/bin/python

.PHONY: setup setup-test setup-estimate run test test-fast lint bench validate figures figures-small overview
.PHONY: estimate estimate-full discover discover-full sobol-study sobol-study-full
setup:
	@bash scripts/setup.sh

# Tests also install the optional Ray group so the Ray-launcher test runs.
setup-test:
	@ABM_EXTRAS=dev,ray,estimate bash scripts/setup.sh

# Estimation and scenario discovery need the `estimate` extras (scikit-learn, emcee, EMA workbench).
setup-estimate:
	@ABM_EXTRAS=estimate bash scripts/setup.sh

run: setup
	$(PY) -m abm

test: setup-test
	$(PY) -m pytest -n 2 --dist loadfile -q

# The development loop (under a minute on 2 cores): everything except the tests marked
# `slow` (multi-process sweeps, figure builds, notebooks) and `ray`.
test-fast: setup-test
	$(PY) -m pytest -n 2 --dist loadfile -q -m "not slow and not ray"

lint: setup
	$(PY) -m ruff check abm analysis tests

# The validation report: the baseline over 10 seeds at default size against targets.csv
# (exits 1 when a moment falls outside its band); e.g. make validate VALIDATE_ARGS="--jobs 2"
VALIDATE_ARGS ?=
validate: setup
	$(PY) -m abm.validate $(VALIDATE_ARGS)

bench: setup
	$(PY) -m abm.bench market
	$(PY) -m abm.bench model

# Every paper figure into outputs/figures/ (full experiments: heavy, see README "Figures and
# notebooks": bands over 10 posterior draws x 10 seeds per scenario);
# e.g. make figures FIGURES_ARGS="--launcher joblib --jobs 8"
FIGURES_ARGS ?=
figures: setup
	$(PY) -m analysis.figures $(FIGURES_ARGS)

# The same figures from a quick small build (about 3.5 minutes on a loaded 2-core machine;
# bands over 3 posterior draws x 2 seeds), into outputs/figures-small/
figures-small: setup
	$(PY) -m analysis.figures --size small --months 24 --seeds 2 --draws 3 --sobol-n 8 \
		--out outputs/figures-small $(FIGURES_ARGS)

# The README's overview image: every scenario, small size, 132 months, 3 posterior draws x 3 seeds
overview: setup
	$(PY) -m analysis.figures --size small --seeds 3 --draws 3 --only overview \
		--out outputs/figures-small --overview docs/figures/overview.png $(FIGURES_ARGS)

# The dashboard on http://127.0.0.1:8765 (loopback only); e.g. make dashboard DASHBOARD_ARGS="--port 9000"
DASHBOARD_ARGS ?=
.PHONY: dashboard
dashboard: setup
	$(PY) -m abm.dashboard $(DASHBOARD_ARGS)

# Estimation (issue 10): Morris screening, GP-emulator calibration, the model at posterior draws
# and the 2026 hindcast. `make estimate` is the small preset (end to end in under 15 minutes on
# 2 cores); `make estimate-full` the full one (heavy: see README "Estimating the parameters");
# e.g. make estimate-full ESTIMATE_ARGS="--launcher joblib --jobs 8"
ESTIMATE_ARGS ?= --launcher joblib --jobs 2
estimate: setup-estimate
	$(PY) -m analysis.estimate --preset small $(ESTIMATE_ARGS)

estimate-full: setup-estimate
	$(PY) -m analysis.estimate --preset full $(ESTIMATE_ARGS)

# Scenario discovery (issue 10): a Latin hypercube and PRIM boxes for the three divide conditions;
# `make discover` is the small preset, `make discover-full` the >= 1,000-run one.
DISCOVER_ARGS ?= --launcher joblib --jobs 2
discover: setup-estimate
	$(PY) -m analysis.discover --preset small $(DISCOVER_ARGS)

discover-full: setup-estimate
	$(PY) -m analysis.discover --preset full $(DISCOVER_ARGS)

# Sobol done right (issue 10): n doubling until the indices settle, at 2027/2030/2035, and
# second-order indices of the top 4; `make sobol-study` is the small preset.
SOBOL_STUDY_ARGS ?=
sobol-study: setup-estimate
	$(PY) -m analysis.sobol_study --preset small $(SOBOL_STUDY_ARGS)

sobol-study-full: setup-estimate
	$(PY) -m analysis.sobol_study --preset full $(SOBOL_STUDY_ARGS)
