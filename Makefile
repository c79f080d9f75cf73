# Two set-up commands for a newcomer: `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
# tensorflow-cpu on CPU-only Linux; GPU users: make TF_EXTRA=gpu (tensorflow[and-cuda]).
TF_EXTRA ?= cpu
STAMP := $(VENV)/.installed-$(TF_EXTRA)
PYTEST_ARGS ?=

.PHONY: demo test test-slow test-jax lint format bench evidence clean

$(STAMP): setup.cfg pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[$(TF_EXTRA),test]"
	touch $(STAMP)

demo: $(STAMP)
	$(PY) examples/quickstart.py

test: $(STAMP)
	$(PY) -m pytest -m "not slow" $(PYTEST_ARGS)

# pytest exits 5 when no test carries the mark: that is not a failure.
test-slow: $(STAMP)
	$(PY) -m pytest -m slow $(PYTEST_ARGS) || [ $$? -eq 5 ]

$(VENV)/.installed-jax: $(STAMP)
	$(PY) -m pip install --quiet -e ".[$(TF_EXTRA),test,jax]"
	touch $@

# The backend-agnostic part of the suite on JAX (tests marked tensorflow_only skip).
test-jax: $(VENV)/.installed-jax
	KERAS_BACKEND=jax $(PY) -m pytest -m "not slow" $(PYTEST_ARGS)

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: $(STAMP)
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

bench: $(STAMP)
	$(PY) -m benchmarks

# EVIDENCE=quick for CI-sized runs, EVIDENCE=full for the numbers the README quotes.
EVIDENCE ?= full
evidence: $(STAMP)
	$(PY) examples/evidence.py $(if $(filter quick,$(EVIDENCE)),--quick,)

clean:
	rm -rf $(VENV) examples/output benchmarks/output .pytest_cache
