# The heartbeat HA lab. `make help` lists the targets.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
# the test, lint and class extras on top (pytest, selenium, import-linter; aiohttp, asyncssh)
FULL   := $(VENV)/.installed-full
LAB    := $(BIN)/lab
# Extra options for `lab up`, e.g.  make lab-up LAB_ARGS="--timing fast --port 8081"
LAB_ARGS ?=
PYTEST_ARGS ?=
BENCH_ARGS ?=

.DEFAULT_GOAL := help
.PHONY: help venv bench-lab-up images rootless-engine class-engine browser test-slow test-class-engine bench-load bench-class bench-door bench-fence bench-cts bench-engines soak matrix matrix-cell matrix-clean lab-up lab-down lab-status compose handout test unit lint bench clean-images clean

help: ## list the targets
	@awk 'BEGIN {FS = ":.*## "} /^[a-zA-Z_-]+:.*## / {printf "  make %-13s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q -e .
	touch $@

$(FULL): $(STAMP)
	$(BIN)/pip install -q -e '.[test,class]'
	touch $@

venv: $(FULL) ## create .venv and install the lab into it, with its test and class extras

images: $(STAMP) ## build the lab's images (bootstraps a Debian base when no registry is reachable)
	$(LAB) images

rootless-engine: images ## as root: an unprivileged user's rootless Docker engine with the lab's images (lab engine rootless)
	$(LAB) engine rootless $(if $(ROOTLESS_USER),--user $(ROOTLESS_USER),)

class-engine: images ## as root: the class engine, a second Docker daemon with user namespaces (lab engine class; --stop, --remove)
	$(LAB) engine class

lab-up: $(STAMP) ## start the cluster (ha1, ha2, nfsha, ha3) and print its URLs (builds the images if needed)
	$(LAB) up $(LAB_ARGS)

lab-down: $(STAMP) ## remove the cluster
	$(LAB) down

lab-status: $(STAMP) ## who serves the cluster URL, what each node holds
	$(LAB) status

compose: $(STAMP) ## write compose/project: the same lab as a docker compose (v2) project
	$(LAB) compose --out compose/project $(LAB_ARGS)

handout: $(STAMP) ## regenerate docs/workshop.md from the workshop's step declarations
	$(BIN)/python -m lab.workshop.handout > docs/workshop.md

unit: $(FULL) ## the fast tests (no containers)
	$(BIN)/pytest -m 'not e2e' $(PYTEST_ARGS)

lint: $(FULL) ## ruff (pyflakes and bugbear checks) and import-linter (the package's layers, pyproject.toml)
	$(BIN)/ruff check --select F,E9,B --ignore B008,B905 lab tests conftest.py bench
	$(BIN)/lint-imports

browser: ## Debian's chromium and chromedriver for the class's browser tests (apt-get install when missing)
	@{ command -v chromium && command -v chromedriver; } >/dev/null 2>&1 || { \
	  echo "installing chromium and chromium-driver (apt-get) ..."; \
	  apt-get install -y -qq --no-install-recommends chromium chromium-driver >/dev/null 2>&1 \
	  || { apt-get update -qq && apt-get install -y -qq --no-install-recommends chromium chromium-driver; }; }

test: $(FULL) images browser ## every test but the slow ones and the class engine's, on two workers (about 12 min; PYTEST_ARGS="-n 0": serially)
	$(BIN)/pytest -m 'not slow and not class_engine' -n 2 --dist loadgroup $(PYTEST_ARGS)

test-class-engine: $(FULL) images ## as root: the class engine set up from nothing, a class on it, containment; removed afterwards if it was not there (about 5 min; CI runs it after make test)
	$(BIN)/pytest -m class_engine $(PYTEST_ARGS)

test-slow: $(FULL) images ## the slow tests: the article's own timers (deadtime 60 s), auto_failback off, CTS's every test; about 10 min
	$(BIN)/pytest -m slow $(PYTEST_ARGS)

bench: $(FULL) images ## benchmark: outages, outage vs deadtime, lab-up warm and cold, memory (about 20 min)
	$(BIN)/python bench/run.py --cold $(BENCH_ARGS)

bench-load: $(FULL) images ## outages and their phases while OTHERS (default 0,1,2,4) other labs run scenarios; RUNS each (bench/LOAD.md)
	$(BIN)/python bench/load.py $(if $(OTHERS),--others $(OTHERS),) $(if $(RUNS),--runs $(RUNS),)

bench-class: $(FULL) images ## classroom load: COUNT labs (default 24), every master killed at once (bench/CLASS.md)
	$(BIN)/python bench/class_load.py $(if $(COUNT),--count $(COUNT),)

bench-door: $(FULL) images ## the class's front door: COUNT labs (default 24) served, dashboard times, COUNT trainees' pages open (bench/DOOR.md)
	$(BIN)/python bench/class_door.py $(if $(COUNT),--count $(COUNT),)

bench-engines: $(FULL) class-engine ## the machine's engine and the class engine side by side: lab up, hard-kill outage, memory, COUNT labs (default 24) (bench/ENGINES.md)
	$(BIN)/python bench/engines.py $(if $(COUNT),--count $(COUNT),) $(if $(RUNS),--runs $(RUNS),)

bench-cts: $(FULL) images ## Linux-HA's Cluster Test Suite, ITERATIONS (default 20) tests on a fast-timing lab (bench/CTS.md)
	$(BIN)/python bench/cts_run.py $(if $(ITERATIONS),--iterations $(ITERATIONS),)

bench-lab-up: $(FULL) ## make lab-up cold (a fresh clone, the lab's images removed) and warm (RUNS, default 5), with where the time goes (bench/LAB_UP.md)
	$(BIN)/python bench/lab_up.py $(if $(RUNS),--runs $(RUNS),)

bench-fence: $(FULL) images ## split brain RUNS times (default 10) without and with IPMI fencing, writes checked (bench/SPLIT_BRAIN.md)
	$(BIN)/python bench/split_brain.py $(if $(RUNS),--runs $(RUNS),)

soak: $(FULL) images ## the fault catalogue at random: FAULTS (default 200) faults, each held, healed and audited (bench/SOAK.md)
	$(BIN)/python bench/soak_run.py $(if $(FAULTS),--faults $(FAULTS),) $(if $(SEED),--seed $(SEED),)

# MATRIX_CELLS: which cells (python -m tests.matrix list); all by default
MATRIX_CELLS ?=
matrix: $(STAMP) images ## as root: the lab in a VM with Debian's stock kernel, per engine and NFS client; writes docs/MATRIX.md (about 25 min under emulation, the VM disk cached)
	$(BIN)/python -m tests.matrix run $(MATRIX_CELLS)

matrix-cell: $(STAMP) images ## as root: the cell meant for CI alone (the stock kernel's NFS client on Debian's Docker, about 11 min), table not written
	$(BIN)/python -m tests.matrix run docker-kernel --no-doc

matrix-clean: $(STAMP) ## remove everything the matrix made (the VM's cached disk, its last run)
	$(BIN)/python -m tests.matrix clean

clean-images: $(STAMP) ## remove the lab's images (the next build starts cold)
	$(LAB) images --remove

clean: ## remove the venv
	rm -rf $(VENV) *.egg-info
