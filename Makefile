# The two front-door commands: `make run` and `make test`. Both set themselves up from uv.lock.
PYTHON ?= python3
TOOLS := .tools
UV := $(TOOLS)/bin/uv
BIN := .venv/bin
# uv uses this machine's Python (never downloads one) and installs exactly what uv.lock says.
export UV_PYTHON := $(PYTHON)
export UV_PYTHON_DOWNLOADS := never

.PHONY: install lock run test lint migrate demo clean bench

# The installer itself, pinned with hashes; the stock pip of a fresh venv installs it (never upgraded).
$(UV): tools/uv-requirements.txt
	rm -rf $(TOOLS)
	$(PYTHON) -m venv $(TOOLS)
	PIP_CONFIG_FILE=/dev/null PIP_DISABLE_PIP_VERSION_CHECK=1 $(TOOLS)/bin/pip install --quiet --require-hashes --no-deps -r tools/uv-requirements.txt
	touch $@

## Install exactly the locked versions into .venv (fails if pyproject.toml and uv.lock disagree).
install: $(UV)
	$(UV) sync --locked --quiet

## Re-resolve the dependencies after editing pyproject.toml (or to take upstream updates): writes uv.lock.
lock: $(UV)
	$(UV) lock

migrate: install
	$(BIN)/python manage.py migrate --noinput

demo: migrate
	$(BIN)/python manage.py seed_demo
	$(BIN)/python manage.py seed_collections_demo
	$(BIN)/python manage.py record_snapshot

## Serve the app with demo data on http://127.0.0.1:8000/ : web server, Celery worker and beat together.
run: demo
	$(BIN)/honcho -f Procfile start

## Run the test suite (services it finds are used; tests needing absent ones are skipped with a reason).
test: install
	$(BIN)/ruff check .
	$(BIN)/python manage.py makemigrations --check --dry-run
	$(BIN)/pytest $(PYTEST_ARGS)

lint: install
	$(BIN)/ruff check .

clean:
	rm -rf var .pytest_cache

## The benchmark (PostgreSQL; docs/bench.md): BENCH_ACCOUNTS accounts (default 1,000,000), each pass beside
## its SQL floor, the pages at 1,000 and at full size; writes bench/results/latest.json.
bench: $(UV)
	$(UV) sync --locked --group bench --quiet
	$(BIN)/python -m bench.run
