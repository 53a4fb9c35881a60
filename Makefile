# Rulecast — the README's commands. Only Python 3.11 and make are needed.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
DEMO_CUSTOMERS ?= 5000
DEMO_SEED ?= 7
DEMO_ENV := DEBUG=1
MANAGE := $(DEMO_ENV) $(BIN)/python manage.py

.PHONY: install demo run worker beat test lint bench clean

install: $(STAMP)

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev,postgres]'
	touch $(STAMP)

demo: install
	$(MANAGE) migrate --noinput
	$(MANAGE) seed_demo --customers $(DEMO_CUSTOMERS) --seed $(DEMO_SEED) --flush
	$(MANAGE) segment --publish
	$(MANAGE) demo_admin
	@echo
	@echo "Open the admin:  make run   then visit http://127.0.0.1:8000/admin/"

run: install
	$(MANAGE) runserver 127.0.0.1:8000

worker: install
	$(DEMO_ENV) $(BIN)/celery -A rulecast worker --loglevel=INFO

beat: install
	$(DEMO_ENV) $(BIN)/celery -A rulecast beat --loglevel=INFO

test: install
	$(BIN)/pytest

lint: install
	$(BIN)/ruff check .

bench: install
	$(BIN)/python bench/import_customers.py --rows 100000

clean:
	rm -rf $(VENV) rulecast.sqlite3* test-rulecast.sqlite3* build dist *.egg-info
