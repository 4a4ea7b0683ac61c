# Two commands on a fresh machine: `make run` and `make test` (see README.md).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test test-core lint format types contracts check clean demo screenshots bench bundle

# A second environment without Qt (no PySide6, no pytest-qt) for the unit tests: a Qt import in
# domain, storage, services, pdf, interop or cli fails them there (tools/core_requirements.py).
CORE_VENV := .venv-core
CORE_STAMP := $(CORE_VENV)/.installed

$(STAMP): pyproject.toml
	@$(PYTHON) tools/doctor.py python
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

run: $(STAMP)
	@$(BIN)/python tools/doctor.py qt display
	$(BIN)/tpi-chart --demo $(ARGS)

test: $(STAMP)
	@$(BIN)/python tools/doctor.py qt
	QT_QPA_PLATFORM=offscreen $(BIN)/python -m pytest -n 2 -q $(PYTEST_ARGS)

$(CORE_STAMP): pyproject.toml setup.py tools/core_requirements.py
	@test -x $(CORE_VENV)/bin/python || $(PYTHON) -m venv $(CORE_VENV)
	$(CORE_VENV)/bin/python -m pip install --quiet --upgrade pip
	$(PYTHON) tools/core_requirements.py > $(CORE_VENV)/requirements.txt
	$(CORE_VENV)/bin/python -m pip install --quiet -r $(CORE_VENV)/requirements.txt
	$(CORE_VENV)/bin/python -m pip install --quiet --no-deps -e .
	@touch $(CORE_STAMP)

test-core: $(CORE_STAMP)
	@if $(CORE_VENV)/bin/python -c "import PySide6" 2>/dev/null; then \
		echo "test-core: PySide6 is installed in $(CORE_VENV); remove it (make clean)"; exit 1; fi
	$(CORE_VENV)/bin/python -m pytest -n 2 -q tests/unit $(PYTEST_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

types: $(STAMP)
	$(BIN)/mypy

contracts: $(STAMP)
	$(BIN)/lint-imports

check: lint types contracts test

demo: $(STAMP)
	$(BIN)/tpi-chart demo

screenshots: $(STAMP)
	QT_QPA_PLATFORM=offscreen $(BIN)/python tools/screenshots.py

bench: $(STAMP)
	QT_QPA_PLATFORM=offscreen $(BIN)/python benchmarks/run.py $(BENCH_ARGS)

# The wheel and the desktop bundle (dist/), each smoke-tested: packaging/README.md.
bundle: $(STAMP)
	$(BIN)/python packaging/build.py

clean:
	rm -rf $(VENV) $(CORE_VENV) build dist *.egg-info .mypy_cache .ruff_cache
