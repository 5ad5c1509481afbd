# Two entry points: `make demo` runs the tour and every example, `make test` the test suite.
# Each creates the virtual environment (.venv) and installs what it needs first: the package
# with its extras, and the development tools from the PEP 735 dependency groups of
# pyproject.toml (`--group`, which needs pip 25.1 or newer: the venv's pip is upgraded first).
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip --disable-pip-version-check -q

.PHONY: venv dev demo test test-pythons lint docs bench clean

venv:
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) install "pip>=25.1"

# Everything a contributor needs, pre-commit's hooks included (they run from this venv).
dev: venv
	$(PIP) install -e ".[all]" --group dev

# examples/serve_model.py is a server: make demo runs its in-process self-test instead.
demo: venv
	$(PIP) install -e ".[numpy,redis,prometheus]" --group examples
	@echo "==> python -m mlops_decorators"
	$(PY) -m mlops_decorators
	@for example in examples/*.py; do \
		echo "==> $$example"; \
		case "$$example" in */serve_model.py) args=--self-test;; *) args=;; esac; \
		$(PY) "$$example" $$args || exit 1; \
	done

test: venv
	$(PIP) install -e ".[all]" --group test
	$(PY) -m pytest --cov=mlops_decorators --cov-branch --cov-report=term-missing:skip-covered --cov-fail-under=90

# The suite on every Python the classifiers claim (noxfile.py), without coverage.
test-pythons: venv
	$(PIP) install --group nox
	$(PY) -m nox

# .pre-commit-config.yaml: file hygiene, ruff (lint + format), mypy --strict; offline.
lint: venv
	$(PIP) install -e ".[all]" --group lint
	PATH="$(abspath $(VENV))/bin:$$PATH" $(PY) -m pre_commit run --all-files --show-diff-on-failure

docs: venv
	$(PIP) install -e . --group docs
	NO_MKDOCS_2_WARNING=1 $(PY) -m mkdocs build --strict --site-dir site

bench: venv
	$(PIP) install -e ".[numpy,prometheus,otel]" --group bench
	$(PY) benchmarks/import_time.py --write docs/benchmarks.md
	$(PY) benchmarks/overhead.py --write docs/benchmarks.md

clean:
	rm -rf $(VENV) .nox site build dist .coverage .pytest_cache .mypy_cache .ruff_cache
