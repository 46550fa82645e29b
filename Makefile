# Everything runs from a local virtualenv that the first target creates.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: help run test soak lint fix bench demo report install clean

help: ## list the targets
	@awk 'BEGIN {FS = ":.*## "} /^[a-z]+:.*## / {printf "  make %-8s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

run: install ## set everything up and start Wingman on the embedded defaults
	$(BIN)/python -m workers.supervisor

test: install ## the whole suite (ARGS=... passes pytest options)
	$(BIN)/python -m pytest $(ARGS)

# The randomized simulation, long: SIM_STEPS steps per database (10,000 unless set), from
# SIM_SEED; a failure is shrunk and kept under tests/simulation_regressions/.
soak: install ## the randomized simulation, SIM_STEPS steps per database
	SIM_STEPS=$${SIM_STEPS:-10000} $(BIN)/python -m pytest -p no:cacheprovider -q \
		tests/test_simulation.py -k keeps_every_promise $(ARGS)

lint: install ## ruff, formatting, mypy and the layer contract
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports --no-cache

fix: install ## apply ruff's fixes and formatting
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

bench: install ## every benchmark under bench/, with its baseline
	$(BIN)/python -m bench

demo: install ## Wingman with the Chatwoot and Claude stand-ins
	$(BIN)/python -m standins.demo

report: install ## the experiment report (ARGS=... passes its options)
	$(BIN)/flask --app bot report $(ARGS)

install: $(STAMP) ## create .venv and install Wingman with its dev tools

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Wingman needs Python 3.11 or newer; set PYTHON=python3.11")'
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

clean: ## remove .venv, local databases and caches
	rm -rf $(VENV) var/*.db var/redis .pytest_cache .mypy_cache .ruff_cache
