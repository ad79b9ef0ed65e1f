# Two commands on a fresh machine with Python 3.11: `make run` and `make test`.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
export FLASK_APP := wsgi
HOST ?= 127.0.0.1
PORT ?= 5000

.PHONY: run test worker cron bench browser clean i18n

# Two stamps: `make run` installs the runtime only; `make test` adds the test tools, even after `make run`.
$(BIN)/.installed: requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -r requirements.txt
	touch $@

$(BIN)/.installed-dev: requirements-dev.txt requirements.txt $(BIN)/.installed
	$(BIN)/pip install --quiet -r requirements-dev.txt
	touch $@

# The flask CLI reads .env (python-dotenv), so the README's commands work as written after `make run`.
.env:
	printf '# Written by make run: a local development checkout (the flask CLI reads this file).\nRETENTION_ENV=development\n' > $@

# Embedded defaults unless DATABASE_URL / REDIS_URL say otherwise.
run: $(BIN)/.installed .env
	RETENTION_ENV=$${RETENTION_ENV:-development} $(BIN)/flask db upgrade
	RETENTION_ENV=$${RETENTION_ENV:-development} $(BIN)/flask seed
	RETENTION_ENV=$${RETENTION_ENV:-development} HOST=$(HOST) PORT=$(PORT) $(BIN)/flask serve

test: $(BIN)/.installed-dev
	$(BIN)/python -m pytest $(PYTEST_ARGS)

# With REDIS_URL set: one worker per core, on as many machines as needed.
worker: $(BIN)/.installed
	$(BIN)/rq worker --with-scheduler --url "$$REDIS_URL" $${RETENTION_QUEUE:-retention}

cron: $(BIN)/.installed
	$(BIN)/rq cron jobs/cron.py --url "$$REDIS_URL"

# Each prints its figures against a baseline measured in the same run (needs local PostgreSQL; ingest needs wrk).
bench: $(BIN)/.installed-dev
	$(BIN)/python bench/ingest.py
	$(BIN)/python bench/tick.py
	$(BIN)/python bench/print_letters.py

# Staff-page translations (Flask-Babel): extract every marked string, merge it into the ar and fa
# catalogs (translators fill the new entries), compile. tests/test_translations.py fails on a gap.
I18N := retention/translations
i18n: $(BIN)/.installed
	$(BIN)/pybabel extract -F babel.cfg -k _l -k lazy_gettext -k lazy_ngettext:1,2 \
		--add-location=file --sort-by-file --no-wrap --project=retention -o $(I18N)/messages.pot .
	$(BIN)/pybabel update -i $(I18N)/messages.pot -d $(I18N) --no-fuzzy-matching --no-wrap --ignore-pot-creation-date
	$(BIN)/pybabel compile --statistics -d $(I18N)

clean:
	rm -rf $(VENV) instance .pytest_cache
