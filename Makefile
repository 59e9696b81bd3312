# Mastery Pathways: the README's commands. Every target installs what it needs first.
VENV      := .venv
PY        := $(VENV)/bin/python
BIN       := $(VENV)/bin
STAMP     := $(VENV)/.installed-$(shell sha1sum pyproject.toml | cut -c1-12)
PYTHON    ?= python3

.PHONY: install demo test lint bench bench-writeback bench-load bench-report browser clean

install: $(STAMP) translations

$(STAMP): pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[dev,bench]"
	@rm -f $(VENV)/.installed-*
	@touch $(STAMP)

# The message catalogs (lti_app/translations/<lang>/LC_MESSAGES/messages.po) compiled for use;
# i18n-update re-extracts every marked string and merges it into each catalog to translate.
CATALOGS  := $(wildcard lti_app/translations/*/LC_MESSAGES/messages.po)
.PHONY: translations i18n-update
translations: $(STAMP) $(CATALOGS:.po=.mo)

lti_app/translations/%/LC_MESSAGES/messages.mo: lti_app/translations/%/LC_MESSAGES/messages.po
	$(BIN)/pybabel compile --statistics -d lti_app/translations -l $*

i18n-update: $(STAMP)
	$(BIN)/pybabel extract -F babel.cfg -k lazy_gettext -k _l -k _ln:1,2 --no-location --sort-output --no-wrap \
	  --project "Mastery Pathways" --copyright-holder "Mastery Pathways" \
	  -o lti_app/translations/messages.pot .
	$(BIN)/pybabel update -i lti_app/translations/messages.pot -d lti_app/translations \
	  --no-fuzzy-matching --ignore-obsolete --no-wrap

# Debian's Chromium for the browser tests (Playwright cannot download browsers here).
browser:
	@command -v chromium >/dev/null 2>&1 || { \
	  echo "Installing Debian's chromium for the browser tests..."; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; }

# The tool (127.0.0.1:5000) and the Canvas sandbox (localhost:8100), wired together; prints
# the one URL to open. SANDBOX_PORT / TOOL_PORT choose other ports. Ctrl+C stops both.
demo: install
	@$(PY) -m canvas_sandbox.demo

# A write-back worker with its sweeper (beat): Celery over CELERY_BROKER_URL (e.g.
# redis://127.0.0.1:6379/0), on the tool's DATABASE_URL and SECRET_KEY/ENCRYPTION_KEYS.
.PHONY: worker
worker: install
	$(BIN)/celery -A lti_app.tasks.worker worker -B --loglevel=INFO

# One worker per core, each test file on one worker (a file's module-scoped servers, databases
# and Redis database stay its own); `.venv/bin/pytest path` alone runs serially.
test: install browser
	$(BIN)/pytest -n auto --dist loadfile

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports

bench: install
	$(PY) benchmarks/launch.py
	$(PY) benchmarks/mastery.py
	$(PY) benchmarks/sync.py
	$(PY) benchmarks/grid.py
	$(PY) benchmarks/writeback.py
	$(PY) benchmarks/evidence_import.py
	$(PY) benchmarks/report.py

# The progress report's class set (35 students x 12 targets) as print HTML and as PDF; ~1 minute.
bench-report: install
	$(PY) benchmarks/report.py

# Write-back vs one PUT per score: 35 x 10 scored at once (0, 2, 6 earlier results per pair) and
# a simulated semester (30 x 12, 4 scores per pair over 18 weeks, daily batches); ~5-8 minutes.
bench-writeback: install
	$(PY) benchmarks/writeback.py

# The mixed load (launches, grid, overrides) on gunicorn, PostgreSQL and SQLite side by side;
# LOAD_SECONDS=15 for a shorter run (the default measures 60 s per run).
LOAD_SECONDS ?= 60
bench-load: install
	$(PY) benchmarks/load.py --duration $(LOAD_SECONDS)

clean:
	rm -rf $(VENV) instance .pytest_cache .mypy_cache .ruff_cache
