# Everything runs from a local virtualenv that the first target creates.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test soak lint fix bench demo report install clean

run: install
	$(BIN)/python -m workers.supervisor

test: install
	$(BIN)/python -m pytest $(ARGS)

# The randomized simulation, long: SIM_STEPS steps per database (10,000 unless set), from
# SIM_SEED; a failure is shrunk and kept under tests/simulation_regressions/.
soak: install
	SIM_STEPS=$${SIM_STEPS:-10000} $(BIN)/python -m pytest -p no:cacheprovider -q \
		tests/test_simulation.py -k keeps_every_promise $(ARGS)

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

fix: install
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

bench: install
	$(BIN)/python -m bench

demo: install
	$(BIN)/python -m standins.demo

report: install
	$(BIN)/flask --app bot report $(ARGS)

install: $(STAMP)

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Wingman needs Python 3.11 or newer; set PYTHON=python3.11")'
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

clean:
	rm -rf $(VENV) var/*.db var/redis .pytest_cache .mypy_cache .ruff_cache
