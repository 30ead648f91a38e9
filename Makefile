# The two commands for a new user: `make run` and `make test`. Everything else is for developers.
PYTHON ?= python3
VENV   ?= .venv
BIN     = $(VENV)/bin
MANAGE  = $(BIN)/python manage.py
PORT   ?= 8000

.PHONY: run test test-postgres lint format bench install migrate demo worker clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	touch $@

install: $(VENV)/.installed

migrate: install
	$(MANAGE) migrate --noinput

demo: migrate
	$(MANAGE) seed_demo

# Serves the demo at http://127.0.0.1:$(PORT) with the provider sandbox and a task worker. The worker
# also keeps its own schedule (schedule_tasks starts it, integrations/schedules.py): access tokens
# renewed every five minutes, every connection's lists read nightly.
# gunicorn runs threaded so the server can answer the sandbox's back-channel calls (token
# exchange, create bill, list reads) while the user's own request waits on them.
run: demo
	@echo "Serving Dext Connect at http://127.0.0.1:$(PORT)  (Ctrl+C stops the server and the worker)"
	@echo "E-mail (invitations, password resets) is not delivered: read it at http://127.0.0.1:$(PORT)/sent-mail/ (files in var/outbox/)"
	@$(MANAGE) schedule_tasks >/dev/null
	@trap 'kill 0' INT TERM EXIT; \
	SITE_URL=http://127.0.0.1:$(PORT) $(MANAGE) db_worker --interval 0.5 --no-reload & \
	SITE_URL=http://127.0.0.1:$(PORT) $(BIN)/gunicorn dext_connect.wsgi:application \
		--bind 127.0.0.1:$(PORT) --workers 2 --threads 8 --access-logfile - --log-level warning

worker: install
	$(MANAGE) schedule_tasks
	$(MANAGE) db_worker

test: install
	$(BIN)/python -m pytest $(PYTEST_ARGS)

test-postgres: install
	DATABASE_URL=$${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/dext_connect} $(BIN)/python -m pytest $(PYTEST_ARGS)

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: install
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

# `make bench BENCH=publishing`: the publishing section alone (tests/bench/publishing.py).
bench: install
	BENCH=$(BENCH) $(BIN)/python -m tests.bench

clean:
	rm -rf $(VENV) var staticfiles
