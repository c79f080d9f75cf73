# Two set-up commands for a newcomer: `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
# tensorflow-cpu on CPU-only Linux; GPU users: make TF_EXTRA=gpu (tensorflow[and-cuda]).
TF_EXTRA ?= cpu
STAMP := $(VENV)/.installed-$(TF_EXTRA)
PYTEST_ARGS ?=

.PHONY: demo test test-slow test-jax test-torch test-multiprocess support lint bench-backends bench-gpu format bench evidence docs docs-check clean

$(STAMP): setup.cfg pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[$(TF_EXTRA),test]"
	touch $(STAMP)

demo: $(STAMP)
	$(PY) examples/quickstart.py

test: $(STAMP)
	$(PY) -m pytest -m "not slow and not multiprocess and not docs" $(PYTEST_ARGS)

# pytest exits 5 when no test carries the mark: that is not a failure.
test-slow: $(STAMP)
	$(PY) -m pytest -m slow $(PYTEST_ARGS) || [ $$? -eq 5 ]

# JAX and PyTorch run in a second environment without TensorFlow, as a user of the
# [jax] and [torch] extras has it. The CPU build of this torch lies on CI's disk;
# elsewhere pip fetches it (or set TORCH_SPEC, e.g. TORCH_SPEC=torch).
MULTI_VENV := .venv-jax-torch
MULTI_PY := $(MULTI_VENV)/bin/python
MULTI_STAMP := $(MULTI_VENV)/.installed
TORCH_SPEC ?= torch==2.13.0

$(MULTI_STAMP): setup.cfg pyproject.toml
	test -x $(MULTI_PY) || $(PYTHON) -m venv $(MULTI_VENV)
	$(MULTI_PY) -m pip install --quiet --upgrade pip
	$(MULTI_PY) -m pip install --quiet "$(TORCH_SPEC)"
	$(MULTI_PY) -m pip install --quiet -e ".[jax,torch,test]"
	touch $@

# The backend-agnostic suite (tests marked `distributed` skip on PyTorch).
test-jax: $(MULTI_STAMP)
	KERAS_BACKEND=jax $(MULTI_PY) -m pytest -m "not slow and not multiprocess and not docs" $(PYTEST_ARGS)

test-torch: $(MULTI_STAMP)
	KERAS_BACKEND=torch $(MULTI_PY) -m pytest -m "not slow and not multiprocess and not docs" $(PYTEST_ARGS)

# Two JAX processes on localhost train together (free ports found at run time):
# every object and callback of the pack, checked process against process.
test-multiprocess: $(MULTI_STAMP)
	KERAS_BACKEND=jax $(MULTI_PY) -m pytest -m multiprocess $(PYTEST_ARGS)

# The README's support matrix, from the three suites' passing tests, torch.compile
# checks included (slow on CPU: about a minute per model).
SUPPORT_DIR ?= .support
support: $(STAMP) $(MULTI_STAMP)
	rm -rf $(SUPPORT_DIR)
	SMITHING_SUPPORT_DIR=$(SUPPORT_DIR) $(PY) -m pytest -m "not slow and not multiprocess and not docs" $(PYTEST_ARGS)
	SMITHING_SUPPORT_DIR=$(SUPPORT_DIR) KERAS_BACKEND=jax $(MULTI_PY) -m pytest -m "not slow and not multiprocess and not docs" $(PYTEST_ARGS)
	SMITHING_SUPPORT_DIR=$(SUPPORT_DIR) SMITHING_TORCH_COMPILE=1 KERAS_BACKEND=torch $(MULTI_PY) -m pytest -m "not slow and not multiprocess and not docs" $(PYTEST_ARGS)
	$(PY) -m tests.support_matrix write $(SUPPORT_DIR)

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: $(STAMP)
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

bench: $(STAMP)
	$(PY) -m benchmarks

# The benchmarks on every backend, TensorFlow with and without XLA (quick mode;
# BENCH_ARGS=--full for the full one), then on a GPU the mixed-precision and XLA /
# torch.compile checks of the layer harness on each backend: the GPU command.
BENCH_ARGS ?=
bench-backends: $(STAMP) $(MULTI_STAMP)
	SMITHING_TF_PYTHON=$(PY) SMITHING_MULTI_PYTHON=$(MULTI_PY) $(PY) -m benchmarks.backends $(BENCH_ARGS)

DEVICE_TESTS := tests/layers -m "not slow" -k "harness or mixed or jit" -q
bench-gpu: bench-backends
	$(PY) -m pytest $(DEVICE_TESTS)
	KERAS_BACKEND=jax $(MULTI_PY) -m pytest $(DEVICE_TESTS)
	SMITHING_TORCH_COMPILE=1 KERAS_BACKEND=torch $(MULTI_PY) -m pytest $(DEVICE_TESTS)

# EVIDENCE=quick for CI-sized runs, EVIDENCE=full for the numbers the README quotes.
EVIDENCE ?= full
# examples/multiprocess.py starts JAX workers from the JAX environment.
evidence: $(STAMP) $(MULTI_STAMP)
	SMITHING_JAX_PYTHON=$(MULTI_PY) $(PY) -m tools.evidence $(if $(filter quick,$(EVIDENCE)),--quick,)

# The documentation site, with no network: docs/conf.py runs tools.docs, which writes
# the API pages and the benchmark plots (git-ignored), then Sphinx builds
# docs/_build/html with every warning an error (-n: a broken cross-reference to our
# objects too; -E: all pages re-read, so an earlier build hides no warning). Open
# docs/_build/html/index.html.
DOCS_STAMP := $(VENV)/.installed-docs
DOCS_HTML := docs/_build/html
$(DOCS_STAMP): $(STAMP) setup.cfg pyproject.toml
	$(PY) -m pip install --quiet -e ".[$(TF_EXTRA),docs]"
	touch $@

docs: $(DOCS_STAMP)
	$(PY) -m sphinx -E -W --keep-going -n -q -b html docs $(DOCS_HTML)

# The built site in headless Chromium (from Debian's packages): the index, an API
# page, the gallery's images, navigation and search.
docs-check: $(DOCS_STAMP)
	tools/install_chromium.sh
	$(MAKE) docs
	$(PY) -m pytest -m docs -s $(PYTEST_ARGS) tests/test_docs_site.py

clean:
	rm -rf $(VENV) $(MULTI_VENV) $(SUPPORT_DIR) examples/output benchmarks/output .pytest_cache docs/_build docs/_generated docs/api
