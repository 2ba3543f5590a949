# Two entry points (see README): `make book` builds the Jupyter Book, `make test` runs every check.
# Both create the virtual environment .venv on first use and reinstall when pyproject.toml changes.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

# Notebook kernels resolve `python` through PATH: make it the project's interpreter.
export PATH := $(abspath $(BIN)):$(PATH)

.PHONY: test book lint unit notebooks browser bench mutants mathjax clean portable baseline no-numba anywhere

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[test,book,pdf]"
	touch $(STAMP)

lint: $(STAMP)
	$(BIN)/ruff check .

unit: $(STAMP)
	$(BIN)/python -m pytest tests bnpg

notebooks: $(STAMP)
	$(BIN)/python -m pytest --nbval --nbval-current-env --nbval-sanitize-with notebooks/sanitize.cfg notebooks -p no:randomly

test: lint unit notebooks

# The suite as another machine sees it: numpy, numba and OpenBLAS held to a baseline CPU (a result
# that changes there depends on the CPU's rounding); numba not installed (the numpy fallback); and
# every notebook alone in an empty folder, in an environment with only bnpg and Jupyter.
portable: baseline no-numba anywhere

baseline: $(STAMP)
	eval "$$($(BIN)/python tools/baseline_cpu_env.py)" && \
	$(BIN)/python -m pytest tests bnpg --ignore=tests/test_browser.py && \
	$(BIN)/python -m pytest --nbval --nbval-current-env --nbval-sanitize-with notebooks/sanitize.cfg notebooks -p no:randomly

NONUMBA       := .venv-nonumba
NONUMBA_STAMP := $(NONUMBA)/.installed

$(NONUMBA_STAMP): pyproject.toml
	test -x $(NONUMBA)/bin/python || $(PYTHON) -m venv $(NONUMBA)
	$(NONUMBA)/bin/python -m pip install --quiet --upgrade pip
	$(NONUMBA)/bin/python -m pip install --quiet -e ".[test,book]"
	$(NONUMBA)/bin/python -m pip uninstall --quiet --yes numba llvmlite
	touch $(NONUMBA_STAMP)

# Without numba every notebook would run on the numpy path; the theorems' chapters (06, 07, 09) take
# millions of exact steps, tens of minutes that way, and run compiled under `baseline` instead.
NUMPY_NOTEBOOKS := $(filter-out notebooks/06-% notebooks/07-% notebooks/09-%,$(wildcard notebooks/*.ipynb))

no-numba: $(NONUMBA_STAMP)
	PATH=$(abspath $(NONUMBA))/bin:$$PATH $(NONUMBA)/bin/python -m pytest tests bnpg --ignore=tests/test_browser.py
	PATH=$(abspath $(NONUMBA))/bin:$$PATH $(NONUMBA)/bin/python -m pytest --nbval --nbval-current-env \
		--nbval-sanitize-with notebooks/sanitize.cfg $(NUMPY_NOTEBOOKS) -p no:randomly

anywhere:
	$(PYTHON) tools/notebooks_anywhere.py

# MathJax ships with the book (npm package, so math typesets offline): npm installs it into the
# virtual environment, and the components the book uses are staged in _build/mathjax/mathjax,
# which _config.yml lists in html_static_path.
MATHJAX_VERSION := 3.2.2
MATHJAX_NPM     := $(VENV)/mathjax
MATHJAX_PKG     := $(MATHJAX_NPM)/node_modules/mathjax
MATHJAX_STAGE   := _build/mathjax/mathjax

$(MATHJAX_PKG)/es5/tex-chtml.js:
	npm install --no-save --no-package-lock --no-audit --no-fund --loglevel=error \
		--prefix $(MATHJAX_NPM) mathjax@$(MATHJAX_VERSION)
	test -f $@

$(MATHJAX_STAGE)/tex-chtml.js: $(MATHJAX_PKG)/es5/tex-chtml.js
	rm -rf $(MATHJAX_STAGE)
	mkdir -p $(MATHJAX_STAGE)
	cp -R $(MATHJAX_PKG)/es5/. $(MATHJAX_STAGE)/
	cp $(MATHJAX_PKG)/LICENSE $(MATHJAX_STAGE)/LICENSE
	cd $(MATHJAX_STAGE) && rm -rf mml-*.js tex-mml-*.js tex-svg*.js tex-chtml-full*.js \
		node-main.js output/svg output/svg.js
	touch $@

mathjax: $(MATHJAX_STAGE)/tex-chtml.js

# Notebooks run through Jupyter Book's execution cache; tools/book_cache.py empties it whenever the
# library (or pyproject.toml) changed, so a rebuild of an unchanged tree executes nothing.
book: $(STAMP) mathjax
	rm -rf _build/html
	$(BIN)/python tools/book_cache.py
	$(BIN)/jupyter-book build --all -W -n --keep-going .
	$(BIN)/python tools/print_book.py

# The browser test alone (it also runs inside `make unit`); needs a built book and Chromium.
browser: $(STAMP)
	$(BIN)/python -m pytest tests/test_browser.py -p no:randomly

# Performance table of the README (installs the optional torch extra for the comparison).
bench: $(STAMP)
	$(BIN)/python -m pip install --quiet -e ".[bench]"
	$(BIN)/python benchmarks/bench.py

# Mutation check, outside `make test` (a few minutes): plants each bug listed in tools/mutants.py in a
# scratch copy of the tree and requires the tests to catch it; exits non-zero if one survives.
mutants: $(STAMP)
	$(BIN)/python tools/mutants.py

clean:
	rm -rf _build $(NONUMBA)
