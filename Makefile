# fupinsim — every target does its own set-up on a fresh machine.
#   make run        run the default scenarios (pipeline + notebooks) into outputs/
#   make test       lint, type-check, unit/contract/regression tests, nbval over notebooks/
#   make lab        open JupyterLab on notebooks/
#   make notebooks  re-execute the committed notebooks in place after an intended change
#   make bench      run the benchmarks (quick sizes)
#   make browser-deps  install Chromium, poppler-utils and CJK fonts (the print test) with apt-get

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
DEFAULT_SCENARIOS := scenarios/plan_2015.yaml scenarios/revenue_stagnation.yaml \
	scenarios/illness_shock.yaml scenarios/labour_market_slump.yaml scenarios/provincial_support.yaml
# Notebooks see a headless matplotlib backend only through %matplotlib inline.
export MPLBACKEND := Agg
export PYTHONHASHSEED := 0

.PHONY: install run test lint typecheck unit nbval lab notebooks bench clean browser-deps

$(STAMP): pyproject.toml requirements/constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c requirements/constraints.txt -e ".[dev]"
	$(BIN)/python -m ipykernel install --sys-prefix --name python3 --display-name "Python 3 (fupinsim)" >/dev/null
	touch $(STAMP)

install: $(STAMP)

run: $(STAMP)
	$(BIN)/fupinsim batch $(DEFAULT_SCENARIOS) --workers 2 --outputs outputs

lint: $(STAMP)
	$(BIN)/ruff check fupinsim tests benchmarks tools
	$(BIN)/ruff format --check fupinsim tests benchmarks tools

typecheck: $(STAMP)
	$(BIN)/mypy

unit: $(STAMP)
	$(BIN)/pytest tests -q

nbval: $(STAMP)
	$(BIN)/pytest -q -p no:cacheprovider --nbval --nbval-current-env \
		--nbval-sanitize-with tests/nbval_sanitize.cfg notebooks/

test: browser-deps lint typecheck unit nbval

# The print test (tests/unit/test_print_pdf.py) prints pages to PDF with headless Chromium and
# reads them with poppler-utils; it is skipped, saying why, when they are missing. Installing
# them needs root and apt-get (CI runs as root); anything else, or a failed install, only prints
# why and lets the tests run (never fatal).
BROWSER_PACKAGES := chromium poppler-utils fonts-noto-cjk
browser-deps:
	@if command -v chromium >/dev/null && command -v pdftotext >/dev/null && command -v pdfinfo >/dev/null \
		&& fc-list 2>/dev/null | grep -q "Noto Sans CJK"; then \
		echo "browser-deps: chromium, poppler-utils and CJK fonts are installed"; \
	elif [ "$$(id -u)" != 0 ]; then \
		echo "browser-deps: skipped (not root): the print test is skipped unless $(BROWSER_PACKAGES) are installed"; \
	elif ! command -v apt-get >/dev/null; then \
		echo "browser-deps: skipped (no apt-get): the print test is skipped unless $(BROWSER_PACKAGES) are installed"; \
	else \
		(apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $(BROWSER_PACKAGES) >/dev/null) \
			&& echo "browser-deps: installed $(BROWSER_PACKAGES)" \
			|| echo "browser-deps: apt-get install of $(BROWSER_PACKAGES) failed (not fatal): the print test will be skipped"; \
	fi

# The server's root is the repository (notebooks link to outputs/ and scenarios/); it opens on notebooks/.
# As root (how the project's machines run) JupyterLab needs --allow-root; it prints the URL with its token.
LAB_ROOT_FLAG := $(shell [ "$$(id -u)" = 0 ] && echo --allow-root)
lab: $(STAMP)
	@echo "JupyterLab: open the http://127.0.0.1:8888/lab?token=... URL printed below (Ctrl-C stops it)."
	$(BIN)/jupyter lab --ServerApp.root_dir=. --LabApp.default_url=/lab/tree/notebooks \
		--ServerApp.ip=127.0.0.1 --no-browser $(LAB_ROOT_FLAG)

notebooks: $(STAMP)
	$(BIN)/python -m fupinsim.cli refresh-notebooks notebooks/

bench: $(STAMP)
	$(BIN)/python benchmarks/bench_registry.py --quick
	$(BIN)/python benchmarks/bench_microsim.py
	$(BIN)/python benchmarks/bench_allocate.py
	$(BIN)/python benchmarks/bench_batch.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
