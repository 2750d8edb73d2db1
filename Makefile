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
# the lab lab-up, lab-status and lab-down act on: LAB_NAME, else LAB_ARGS' --name, else the default
LAB_NAME ?= $(shell printf '%s\n' $(LAB_ARGS) | sed -n -e 's/^--name=//p' -e '/^--name$$/{n;p;}')
NAME_OPT = $(if $(LAB_NAME),--name $(LAB_NAME),)
# where `make install` puts the `lab` command
PREFIX ?= /usr/local
PYTEST_ARGS ?=
BENCH_ARGS ?=

.DEFAULT_GOAL := help
.PHONY: help venv docs install uninstall wheel bench-lab-up images rootless-engine class-engine browser test-slow test-class-engine test-host bench-load bench-class bench-door bench-fence bench-cts bench-engines bench-plugin bench-stacks soak matrix matrix-cell matrix-clean lab-up lab-down lab-status compose handout test unit lint bench clean-images clean

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

lab-up: $(STAMP) ## start the cluster (ha1, ha2, nfsha, ha3) and print its URLs (builds the images if needed; LAB_ARGS, LAB_NAME)
	$(LAB) up $(if $(findstring --name,$(LAB_ARGS)),,$(NAME_OPT)) $(LAB_ARGS)

lab-down: $(STAMP) ## remove the cluster (the one LAB_NAME or LAB_ARGS' --name names, as lab-up)
	$(LAB) down $(NAME_OPT)

lab-status: $(STAMP) ## who serves the cluster URL, what each node holds (LAB_NAME or LAB_ARGS' --name, as lab-up)
	$(LAB) status $(NAME_OPT)

install: $(STAMP) ## put `lab` on the PATH: a link $(PREFIX)/bin/lab to this checkout's .venv/bin/lab (or type ./lab here)
	ln -sfn $(CURDIR)/$(LAB) $(PREFIX)/bin/lab
	@echo "lab -> $(CURDIR)/$(LAB) (make uninstall removes the link)"

uninstall: ## remove the link make install made
	@if [ "$$(readlink $(PREFIX)/bin/lab)" = "$(CURDIR)/$(LAB)" ]; then rm $(PREFIX)/bin/lab && echo "removed $(PREFIX)/bin/lab"; \
	 else echo "$(PREFIX)/bin/lab is not this checkout's link: left alone"; fi

wheel: $(STAMP) ## build the package's wheel into dist/ (what `pip install` in another project takes)
	$(BIN)/pip wheel -q --no-deps -w dist .
	@ls dist/heartbeat_lab-*.whl

compose: $(STAMP) ## write compose/project: the same lab as a docker compose (v2) project
	$(LAB) compose --out compose/project $(LAB_ARGS)

handout: $(STAMP) ## regenerate docs/workshop.md from the workshop's step declarations
	$(BIN)/python -m lab.workshop.handout > docs/workshop.md

docs: $(FULL) ## the documentation site into site/ (MkDocs, warnings are errors): its reference pages regenerated first
	$(BIN)/python -m lab.workshop.handout > docs/workshop.md
	$(BIN)/python -m lab.cli.reference docs/reference
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict
	@echo "the site: site/index.html (or $(BIN)/mkdocs serve for a live one)"

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

test: $(FULL) images browser ## every test but the slow ones and those that change this machine, on two workers (about 13 min; PYTEST_ARGS="-n 0": serially)
	@echo "make test: on this machine it installs, when missing, Debian's chromium and chromium-driver and debootstrap"
	@echo "  (apt-get), builds the lab's images, and starts and removes labs on the Docker engine; it creates no user"
	@echo "  and changes no device (the tests that do are make test-host)"
	$(BIN)/pytest -m 'not slow and not class_engine and not host' -n 2 --dist loadgroup $(PYTEST_ARGS)

test-host: $(FULL) images ## as root: the tests that change this machine: the class engine and a rootless engine set up from nothing (users heartbeat-lab and heartbeat-lab-class, their subordinate ids, /dev/net/tun and /dev/fuse made 0666, Debian packages), a class on the class engine; about 6 min; CI runs it after make test
	@echo "make test-host: creates the users heartbeat-lab and heartbeat-lab-class with subordinate ids, installs uidmap,"
	@echo "  rootlesskit, slirp4netns and fuse-overlayfs when missing, makes /dev/net/tun and /dev/fuse usable by users,"
	@echo "  and starts a second Docker daemon (the class engine, removed afterwards if it was not there)"
	$(BIN)/pytest -m 'class_engine or host' $(PYTEST_ARGS)

test-class-engine: $(FULL) images ## as root: the class engine's tests alone (part of make test-host)
	$(BIN)/pytest -m class_engine $(PYTEST_ARGS)

test-slow: $(FULL) images ## the slow tests: the article's own timers (deadtime 60 s), auto_failback off, CTS's every test, a solution's new timers read by status and scenarios; about 12 min
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

bench-plugin: $(FULL) images ## the example project from the wheel as two CI jobs at once, each `pytest -n 2` (bench/PLUGIN.md)
	$(BIN)/python bench/plugin_ci.py

bench-fence: $(FULL) images ## split brain RUNS times (default 10) without and with IPMI fencing, writes checked (bench/SPLIT_BRAIN.md)
	$(BIN)/python bench/split_brain.py $(if $(RUNS),--runs $(RUNS),)

bench-stacks: $(FULL) images ## heartbeat and Pacemaker side by side: the same scenarios RUNS times (default 3) each, fenced and not (bench/STACKS.md)
	$(BIN)/python bench/stacks.py $(if $(RUNS),--runs $(RUNS),)

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
