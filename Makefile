# 传习 Chuanxi — the two commands a newcomer needs: `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PORT ?= 8000
MANAGE := cd backend && ../$(BIN)/python manage.py

.PHONY: install demo test bench-tiny lint messages vendor check clean

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

# Both cores. xdist's default distribution hands each worker tests in pytest-django's order, so the
# transactional tests (which empty every table, seeded categories included) run last on each worker.
test: install
	$(BIN)/pytest -q -n auto

# Every benchmark at a tiny size (seconds each): proves they still run against the current schema.
# A benchmark is a script with a main guard; bench_common, bench_settings and bench_site are its modules.
bench-tiny: install
	for bench in $$(grep -l '^if __name__ == "__main__":' benchmarks/bench_*.py); do \
	  echo "== $$bench --tiny"; $(BIN)/python "$$bench" --tiny || exit 1; \
	done

lint: install
	$(BIN)/ruff check .
	$(BIN)/mypy
	$(BIN)/ruff format --check .

# One line per message and no source locations: the catalogue diffs stay readable, and tests/test_i18n.py
# reads it line by line.
messages: install
	cd backend && ../$(BIN)/python manage.py makemessages -l zh_Hans --no-obsolete --no-wrap --no-location && ../$(BIN)/python manage.py compilemessages

# Browser assets are committed (no build step, nothing fetched at run time). This is how they were
# obtained: the pinned npm package, unpacked, its minified file and licence copied. Needs npm.
HTMX_VERSION := 2.0.11
VENDOR_DIR := backend/web/static/web/vendor
vendor:
	tmp=$$(mktemp -d) && cd $$tmp && npm pack --silent htmx.org@$(HTMX_VERSION) >/dev/null \
	  && tar xzf htmx.org-$(HTMX_VERSION).tgz \
	  && cp package/dist/htmx.min.js $(CURDIR)/$(VENDOR_DIR)/htmx-$(HTMX_VERSION).min.js \
	  && cp package/LICENSE $(CURDIR)/$(VENDOR_DIR)/htmx-LICENSE.txt \
	  && cd $(CURDIR) && rm -rf $$tmp
	sha256sum $(VENDOR_DIR)/htmx-$(HTMX_VERSION).min.js

clean:
	rm -rf $(VENV) .demo
