# 传习 Chuanxi — the two commands a newcomer needs: `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PORT ?= 8000
MANAGE := cd backend && ../$(BIN)/python manage.py

.PHONY: install demo test lint messages check clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet ".[dev]"
	touch $(STAMP)

install: $(STAMP)

# SQLite and the filesystem broker need their folders on a fresh clone; `exec` lets a signal sent
# to the recipe's shell reach serve_demo, which then stops its Celery worker and beat.
demo: install
	mkdir -p .demo/broker/processed
	$(MANAGE) migrate --noinput
	$(MANAGE) load_demo
	PORT=$(PORT) exec $(BIN)/python backend/manage.py serve_demo

test: install
	$(BIN)/pytest -q

lint: install
	$(BIN)/ruff check .
	$(BIN)/mypy
	$(BIN)/ruff format --check .

messages: install
	cd backend && ../$(BIN)/python manage.py makemessages -l zh_Hans --no-obsolete --no-location --no-wrap && ../$(BIN)/python manage.py compilemessages

clean:
	rm -rf $(VENV) .demo
