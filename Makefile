# `make demo` and `make test` work on a fresh machine with Python 3.10+ and make: each creates .venv first.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: demo test docs bench lint mutate clean playground

$(BIN)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test,plot,bench,notebook,docs]'
	touch $@

# The tour's files go to out/demo, which git ignores.
demo: $(BIN)/.installed
	$(BIN)/deltagrad demo --out out/demo

test: $(BIN)/.installed playground
	$(BIN)/python -m pytest

# The in-browser playground's vendor/ (not committed): Pyodide and Graphviz-in-WebAssembly at the versions
# pinned in playground/package-lock.json, the project's wheel and the pure-Python wheels it needs. Without
# npm it says so and stops short (its tests then skip, or fail under CI); `deltagrad playground` serves it.
playground: $(BIN)/.installed
	@if command -v npm >/dev/null 2>&1; then \
		cd playground && npm ci --no-audit --no-fund --loglevel=error && cd .. && \
		$(BIN)/python playground/build.py; \
	else echo "note: npm is missing (apt-get install nodejs npm): playground/vendor not built"; fi

# The documentation site, into site/ (git ignores it), warnings as errors, with the playground (so it runs
# `make playground` first); tests/test_site.py builds it too.
docs: $(BIN)/.installed playground
	NO_MKDOCS_2_WARNING=1 $(BIN)/python -m mkdocs build --strict --site-dir site

# The peers: micrograd from PyPI (the `bench` extra) and PyTorch where a wheel exists (else its rows are
# skipped with a note). Then every workload, written to docs/benchmarks.md (several minutes).
bench: $(BIN)/.installed
	$(BIN)/pip install --quiet -e '.[bench]'
	$(BIN)/python -c "import torch" 2>/dev/null || $(BIN)/pip install --quiet torch==2.13.0 || \
		echo "note: PyTorch 2.13.0 is not installable here; W4's PyTorch anchors will be skipped"
	$(BIN)/python bench/run_all.py

# Mutation testing with cosmic-ray (the `mutate` extra), not part of `make test`: the files and tests in
# tools/mutate.py's SCOPE, one process, nice'd; resumes an interrupted run (MUTATE_ARGS=--fresh starts
# anew). Writes the kill rate and the survivors into docs/testing.md. 616 mutants; see docs/testing.md.
mutate: $(BIN)/.installed
	$(BIN)/pip install --quiet -e '.[test,mutate]'
	$(BIN)/python -c "import torch" 2>/dev/null || $(BIN)/pip install --quiet torch==2.13.0
	nice $(BIN)/python tools/mutate.py $(MUTATE_ARGS)

lint: $(BIN)/.installed
	$(BIN)/pip install --quiet ruff
	$(BIN)/ruff check .

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis .mutate build *.egg-info site out playground/vendor playground/node_modules
