# make demo   -- the main job on embedded defaults (SQLite, tasks in-process, email to var/outbox/)
# make test   -- lint, types and the whole suite (PostgreSQL when available, else SQLite)
# make dev    -- web (gunicorn), a Celery worker and beat against local Redis and PostgreSQL
# make image-test -- the Docker image and compose.yaml's stack, end to end
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp
SEED := seeds/daily_papers_2025-11-20.txt

.PHONY: demo test dev lint typecheck format bench bench-ingest image-test clean

# A developer's settings: DEBUG on and a key made on the spot, never one from the source.
# Written once; edit it freely (the environment still wins over it). Production sets
# the real variables instead and has no .env.
.env:
	@printf '%s\n' '# Written by make for this machine only (git ignores it). See .env.example.' \
		'DEBUG=true' "SECRET_KEY=$$($(PYTHON) -c 'import secrets; print(secrets.token_urlsafe(50))')" > .env
	@echo "Wrote .env: DEBUG=true and a new SECRET_KEY"

$(STAMP): pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	@echo "Installing into $(VENV) (log: $(VENV)/pip.log)"
	@$(PY) -m pip install --upgrade pip >$(VENV)/pip.log 2>&1 || (cat $(VENV)/pip.log; exit 1)
	@$(PY) -m pip install -e '.[dev]' >>$(VENV)/pip.log 2>&1 || (cat $(VENV)/pip.log; exit 1)
	@touch $(STAMP)

demo: $(STAMP) .env
	@env -u DATABASE_URL -u CELERY_BROKER_URL -u EMAIL_PROVIDER $(PY) manage.py migrate --noinput -v 0
	@env -u DATABASE_URL -u CELERY_BROKER_URL -u EMAIL_PROVIDER $(PY) manage.py ingest $(SEED)
	@env -u DATABASE_URL -u CELERY_BROKER_URL -u EMAIL_PROVIDER $(PY) manage.py demo_report
	@env -u DATABASE_URL -u CELERY_BROKER_URL -u EMAIL_PROVIDER $(PY) manage.py demo_digests

test: $(STAMP)
	@bash scripts/test.sh $(PYTEST_ARGS)

dev: $(STAMP) .env
	@bash scripts/dev.sh

lint: $(STAMP)
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .

# mypy with django-stubs (it loads tests.settings to know the models).
typecheck: $(STAMP)
	@$(PY) -m mypy

format: $(STAMP)
	$(PY) -m ruff check --fix .
	$(PY) -m ruff format .

bench: $(STAMP)
	@env -u CELERY_BROKER_URL -u EMAIL_PROVIDER $(PY) bench/digest_bench.py $(BENCH_ARGS)

bench-ingest: $(STAMP)
	@env -u CELERY_BROKER_URL -u EMAIL_PROVIDER $(PY) bench/ingest_bench.py $(BENCH_ARGS)

# The Docker image and compose.yaml's stack, built and walked through end to end (root;
# installs docker.io with apt when missing; skips without a container engine unless CI).
image-test:
	@bash scripts/image_test.sh

clean:
	rm -rf $(VENV) var .pytest_cache .ruff_cache
