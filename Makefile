# Two entry points (see README): `make book` builds the Jupyter Book, `make test` runs every check.
# Both create the virtual environment .venv on first use and reinstall when pyproject.toml changes.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

# Notebook kernels resolve `python` through PATH: make it the project's interpreter.
export PATH := $(abspath $(BIN)):$(PATH)

.PHONY: test book lint unit notebooks browser clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[test,book]"
	touch $(STAMP)

lint: $(STAMP)
	$(BIN)/ruff check .

unit: $(STAMP)
	$(BIN)/python -m pytest tests bnpg

notebooks: $(STAMP)
	$(BIN)/python -m pytest --nbval --nbval-current-env --sanitize-with notebooks/sanitize.cfg notebooks -p no:randomly

test: lint unit notebooks

book: $(STAMP)
	$(BIN)/jupyter-book build --all -W --keep-going .

clean:
	rm -rf _build
