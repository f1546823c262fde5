# 传习 Chuanxi — the two commands a newcomer needs: `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PORT ?= 8000
MANAGE := cd backend && ../$(BIN)/python manage.py

.PHONY: install demo test bench-tiny lint messages check clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet ".[dev]"
	touch $(STAMP)

install: $(STAMP)

# Without DATABASE_URL each command starts the checkout's embedded PostgreSQL (.demo/postgres) on
# its first connection and stops it when it exits (serve_demo: after its Celery worker and beat).
# The filesystem broker needs its folders on a fresh clone; `exec` lets a signal sent to the
# recipe's shell reach serve_demo, which then stops its Celery worker and beat.
demo: install
	mkdir -p .demo/broker/processed
	$(MANAGE) migrate --noinput
	$(MANAGE) load_demo
	PORT=$(PORT) exec $(BIN)/python backend/manage.py serve_demo

test: install
	$(BIN)/pytest -q -n auto --dist loadscope

# Every benchmark at a tiny size (seconds each): proves they still run against the current schema.
bench-tiny: install
	for bench in benchmarks/bench_*.py; do \
	  [ "$$bench" = benchmarks/bench_common.py ] && continue; \
	  echo "== $$bench --tiny"; $(BIN)/python "$$bench" --tiny || exit 1; \
	done

lint: install
	$(BIN)/ruff check .
	$(BIN)/mypy
	$(BIN)/ruff format --check .

messages: install
	cd backend && ../$(BIN)/python manage.py makemessages -l zh_Hans -l en --no-obsolete && ../$(BIN)/python manage.py compilemessages

clean:
	rm -rf $(VENV) .demo
