# Each target installs what it needs into .venv first (idempotent, keyed on pyproject.toml).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install run reset test lint unit bench clean browser

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $(STAMP)

install: $(STAMP)

# Browser tests drive CHROMIUM_PATH, else Debian's chromium, through Playwright (never `playwright install`),
# with a CJK font so that the screenshots kept as artefacts show the Chinese text (WenQuanYi Micro Hei, 4 MB).
# The walk-through tests paste the READMEs' blocks into zsh as well as bash.
browser:
	test -x "$${CHROMIUM_PATH:-/usr/bin/chromium}" || (command -v apt-get >/dev/null && \
		(apt-get install -y -q chromium || (apt-get update -q && apt-get install -y -q chromium)))
	test -e /usr/share/fonts/truetype/wqy/wqy-microhei.ttc || (command -v apt-get >/dev/null && \
		(apt-get install -y -q fonts-wqy-microhei || (apt-get update -q && apt-get install -y -q fonts-wqy-microhei)))
	command -v zsh >/dev/null || (command -v apt-get >/dev/null && \
		(apt-get install -y -q zsh || (apt-get update -q && apt-get install -y -q zsh)))

# `make run` keeps the demo state under var/ across restarts; `make reset` deletes it and starts fresh.
run: install
	$(BIN)/gateway up

reset: install
	$(BIN)/gateway up --reset

# bandit: every accepted finding carries `# nosec BXXX` with its reason on the line. The dependency
# audit runs pip-audit only when a vulnerability service answers, else prints "pip-audit NOT RUN".
lint: install
	$(BIN)/ruff check gateway carrier_adapters sandbox tests bench tools
	$(BIN)/ruff format --check gateway carrier_adapters sandbox tests bench tools
	$(BIN)/mypy
	$(BIN)/bandit -r gateway carrier_adapters sandbox -q
	$(BIN)/python -m tools.dependency_audit

# Two workers (one per core on the CI machine), a test file per worker at a time: module fixtures stay
# per file, and every test's database, Redis keys and ports are its own (docs/testing.md).
test: lint browser
	$(BIN)/pytest -q -n 2 --dist loadfile --durations=30

# Every benchmark runs even when an earlier one misses its target; the exit status is the first failure's.
# PostgreSQL, the production database, is measured first (a scratch database is created and dropped on
# BENCH_POSTGRES); SQLite, the embedded default, follows and is reported but not tuned.
BENCH_POSTGRES ?= postgresql://127.0.0.1:5432/postgres
bench: install
	$(BIN)/python -m bench.one_tap --database-url $(BENCH_POSTGRES); one_tap_pg=$$?; \
	$(BIN)/python -m bench.identity --database-url $(BENCH_POSTGRES); identity_pg=$$?; \
	$(BIN)/python -m bench.push --database-url $(BENCH_POSTGRES) --workers-list 1,2,4; push_pg=$$?; \
	$(BIN)/python -m bench.sms --database-url $(BENCH_POSTGRES) --workers-list 1,2; sms_pg=$$?; \
	$(BIN)/python -m bench.verify --database-url $(BENCH_POSTGRES); verify_pg=$$?; \
	$(BIN)/python -m bench.campaigns --database-url $(BENCH_POSTGRES); campaigns_pg=$$?; \
	$(BIN)/python -m bench.one_tap; one_tap=$$?; $(BIN)/python -m bench.identity; identity=$$?; \
	$(BIN)/python -m bench.push; push=$$?; $(BIN)/python -m bench.sms; sms=$$?; \
	$(BIN)/python -m bench.verify; verify=$$?; $(BIN)/python -m bench.campaigns; campaigns=$$?; \
	for status in $$one_tap_pg $$identity_pg $$push_pg $$sms_pg $$verify_pg $$campaigns_pg \
		$$one_tap $$identity $$push $$sms $$verify $$campaigns; do \
		[ $$status -eq 0 ] || exit $$status; done

# docs/configuration.md and docs/errors.md are generated from gateway/settings.py and gateway/errors.py;
# tests/unit/test_docs_generated.py fails when they drift.
.PHONY: docs
docs: install
	$(BIN)/python -m tools.docs

clean:
	rm -rf $(VENV) var .mypy_cache .ruff_cache
