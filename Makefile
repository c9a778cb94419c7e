# clusterfolio: the runbook's commands. `make daily-run` and `make test` do all the set-up.
SHELL := /bin/bash
.DEFAULT_GOAL := help

VENV    ?= .venv
PY      := $(VENV)/bin/python
UV      := $(VENV)/bin/uv
CF      := $(PY) -m clusterfolio.cli
STAMP   := $(VENV)/.installed

PROFILE ?=
AS_OF   ?=
# Optional overrides, translated into --set (see README: precedence).
TOP_N         ?=
THRESHOLD     ?=
LOOKBACK      ?=
STRICT_HEALTH ?=
BACKFILL      ?=
GAPFILL       ?=
PROVIDER      ?=
# A folder of daily prices for the files provider (relative to the current directory).
DATA          ?=
RUN           ?= latest
# FRESH=1: recompute every step of the day's run (no reuse of the steps whose inputs did not change).
FRESH         ?=

bool = $(if $(filter 1 true yes on,$(1)),true,false)

SETS := $(if $(TOP_N),--set selection.top_n=$(TOP_N)) \
        $(if $(THRESHOLD),--set selection.threshold=$(THRESHOLD)) \
        $(if $(STRICT_HEALTH),--set data.strict_health=$(call bool,$(STRICT_HEALTH))) \
        $(if $(BACKFILL),--set data.backfill=$(call bool,$(BACKFILL))) \
        $(if $(GAPFILL),--set data.gapfill=$(call bool,$(GAPFILL))) \
        $(if $(PROVIDER),--set data.provider=$(PROVIDER)) \
        $(if $(DATA),--set 'data.files.root=$(abspath $(DATA))' --set 'data.files.patterns=["**/*"]')
COMMON := $(if $(PROFILE),--profile $(PROFILE)) $(if $(AS_OF),--as-of $(AS_OF)) $(SETS)

.PHONY: help install lint format test test-all bench daily-run clean-run prep validate recover \
        steps schema scans select optimize-v2 audit accept-state drift report display gist \
        finalize tournament

help: ## List the targets
	@grep -E '^[a-zA-Z0-9_-]+:.*## ' $(MAKEFILE_LIST) | sed 's/:.*## /\t/' | expand -t 18

$(STAMP): pyproject.toml uv.lock
	@test -x $(PY) || python3 -m venv $(VENV)
	@test -x $(UV) || $(PY) -m pip install --quiet uv
	$(UV) sync --frozen --all-extras
	@touch $(STAMP)

install: $(STAMP) ## Create the venv and install the locked dependencies (all extras)

lint: install ## Ruff (lint + format check), mypy on src/ and tests/, the import layers
	$(VENV)/bin/ruff check src tests bench scripts
	$(VENV)/bin/ruff format --check src tests bench scripts
	$(VENV)/bin/mypy
	$(VENV)/bin/lint-imports

format: install ## Apply ruff fixes and formatting
	$(VENV)/bin/ruff check --fix src tests bench scripts
	$(VENV)/bin/ruff format src tests bench scripts

test: lint ## Lint, then the fast test suite
	$(VENV)/bin/pytest -q

test-all: lint ## Lint, then every suite including the slow ones
	$(VENV)/bin/pytest -q -m ""

bench: install ## Benchmarks side by side with the peers; figures into bench/results/
	@for b in bench/bench_*.py; do echo "== $$b"; $(PY) $$b || exit 1; done

steps: install ## List the 13 steps
	$(CF) steps

schema: install ## Regenerate configs/manifest.schema.json from the models
	$(CF) config schema --write configs/manifest.schema.json

daily-run: install ## The daily run: reuses what did not change (FRESH=1 recomputes; PROVIDER=files DATA=folder)
	$(CF) run $(COMMON) $(if $(filter 1 true yes on,$(FRESH)),--fresh)

clean-run: install ## Full reset (cache, state, runs, summaries), then the whole pipeline
	$(CF) clean --full --yes
	$(CF) run $(COMMON)

prep: install ## Backfill/gap-fill: LOOKBACK<=light pass runs light_prep, else deep_prep
	$(CF) prep $(COMMON) $(if $(LOOKBACK),--lookback $(LOOKBACK)) --run $(RUN)

validate: install ## Health audit of the implementation universe (latest run)
	$(CF) run --resume $(RUN) --only health_audit $(if $(PROFILE),--profile $(PROFILE)) $(SETS)

recover: install ## Intensive repair, then a refresh of the return matrix (latest run)
	$(CF) recover --run $(RUN) $(SETS)

scans: install ## Discovery: run the screens into the latest run (scans/*.json)
	$(CF) run --resume $(RUN) --only discovery $(if $(PROFILE),--profile $(PROFILE)) $(SETS)

select: install ## Natural selection on the light pass (TOP_N, THRESHOLD)
	$(CF) run --resume $(RUN) --only natural_selection,enrichment $(if $(PROFILE),--profile $(PROFILE)) $(SETS)

optimize-v2: install ## Cluster-aware optimisation of the latest run (portfolio_optimized.json)
	$(CF) run --resume $(RUN) --only optimization $(if $(PROFILE),--profile $(PROFILE)) $(SETS)

AUDIT_OPTS = --run $(RUN) $(if $(PROFILE),--manifest-profile $(PROFILE)) $(SETS)

audit: install ## The audit gate of a run (fail-fast): audit.json, audit.md
	$(CF) audit $(AUDIT_OPTS)

accept-state: install ## Snapshot an audited run's profile (RISK_PROFILE, default run.accepted_profile)
	$(CF) accept-state $(AUDIT_OPTS) $(if $(RISK_PROFILE),--profile $(RISK_PROFILE))

drift: install ## Target vs accepted state: drift.json, drift.md, orders.csv
	$(CF) drift $(AUDIT_OPTS) $(if $(RISK_PROFILE),--profile $(RISK_PROFILE))

report: install ## Render the reports of a run and refresh summaries/
	$(CF) report --run $(RUN) $(if $(PROFILE),--profile $(PROFILE))

display: install ## The interactive terminal dashboard over the latest run
	$(CF) display --run $(RUN) $(if $(PROFILE),--profile $(PROFILE))

gist: install ## Sync summaries/ to the private Gist (GIST_ID or GIST_REMOTE, GITHUB_TOKEN; GIST_ALLOW_EMPTY=1)
	$(CF) publish --run $(RUN) $(if $(PROFILE),--profile $(PROFILE))

finalize: audit drift report gist ## Audit, drift, reports, then publish

ENGINES    ?=
PROFILES   ?=
SIMULATORS ?=
comma := ,
empty :=
space := $(empty) $(empty)
jsonlist = [$(subst $(space),$(comma),$(patsubst %,"%",$(subst $(comma),$(space),$(1))))]
TSETS := $(if $(ENGINES),--set 'tournament.engines=$(call jsonlist,$(ENGINES))') \
         $(if $(PROFILES),--set 'tournament.profiles=$(call jsonlist,$(PROFILES))') \
         $(if $(SIMULATORS),--set 'tournament.simulators=$(call jsonlist,$(SIMULATORS))')

tournament: install ## Step 12 on a run: ENGINES=custom,skfolio PROFILES=hrp SIMULATORS=idealized,realized
	$(CF) run --resume $(RUN) --only validation $(if $(PROFILE),--profile $(PROFILE)) $(SETS) $(TSETS)
