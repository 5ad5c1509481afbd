# Two entry points: `make demo` runs the tour and every example, `make test` the test suite.
# Each creates the virtual environment (.venv) and installs what it needs first.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip --disable-pip-version-check -q

.PHONY: demo test lint docs bench clean

$(PY):
	$(PYTHON) -m venv $(VENV)

demo: $(PY)
	$(PIP) install -e ".[numpy,prometheus]"
	@echo "==> python -m mlops_decorators"
	$(PY) -m mlops_decorators
	@for example in examples/*.py; do \
		echo "==> $$example"; \
		$(PY) "$$example" || exit 1; \
	done

test: $(PY)
	$(PIP) install -e ".[dev]"
	$(PY) -m pytest --cov=mlops_decorators --cov-branch --cov-report=term-missing:skip-covered --cov-fail-under=90

lint: $(PY)
	$(PIP) install -e ".[dev]"
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .
	$(PY) -m mypy

docs: $(PY)
	$(PIP) install -e ".[dev]"
	NO_MKDOCS_2_WARNING=1 $(PY) -m mkdocs build --strict --site-dir site

bench: $(PY)
	$(PIP) install -e ".[numpy,bench]"
	$(PY) benchmarks/import_time.py
	$(PY) benchmarks/overhead.py

clean:
	rm -rf $(VENV) site build dist .coverage .pytest_cache .mypy_cache .ruff_cache
