# Autoencoders and VAEs course. `make run` runs every notebook into build/ (open build/index.html); `make test` checks.
# The first target that needs it creates .venv and installs the course into it.

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# Extra pip requirements installed before the course, e.g. TORCH_SPEC="torch==2.14.1 torchvision==0.29.1" (CI).
# Empty by default: pip then takes any torch in the range pyproject.toml allows.
TORCH_SPEC ?=
# Arguments for scripts/run_course.py (and scripts/make_slides.py), e.g. make run RUN_ARGS="--fast --only 03".
RUN_ARGS ?=
# Arguments for pytest, e.g. make test PYTEST_ARGS="-x -k project".
PYTEST_ARGS ?=
# pytest workers for make test (pytest-xdist), each on one thread and given whole files (a notebook's cells stay in
# order in one kernel): "auto" is one per core; TEST_JOBS=0 runs everything in one process.
TEST_JOBS ?= auto
# Arguments for JupyterLab, e.g. make lab LAB_ARGS="--no-browser --port 8899" (add --allow-root in a container).
LAB_ARGS ?=

# glibc keeps freed memory instead of giving it back to the system after every batch (a third of CPU training time).
run run-fast slides lab test bench: export GLIBC_TUNABLES = glibc.malloc.mmap_threshold=268435456:glibc.malloc.trim_threshold=1073741824

.PHONY: help install run run-fast slides test lab clean exercises bench sync

help:
	@echo "make run        run all notebooks into build/ (then open build/index.html)"
	@echo "make run-fast   the same in fast mode (small data, few epochs) into build/fast/"
	@echo "make slides     a reveal.js deck per notebook into build/slides/ (then open build/slides/index.html)"
	@echo "make test       pytest + the notebooks in fast mode (what CI runs)"
	@echo "make lab        JupyterLab on notebooks/"
	@echo "make exercises  regenerate notebooks/exercises/ from the solutions"
	@echo "make bench      run the benchmarks"
	@echo "make sync       rewrite the Colab badges and setup cells, and helpers/models.py from the notebooks"
	@echo "make clean      remove build/ and caches (keeps downloaded data)"

install: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(if $(strip $(TORCH_SPEC)),$(BIN)/python -m pip install $(foreach spec,$(TORCH_SPEC),'$(spec)'))
	$(BIN)/python -m pip install -e ".[lab,test]"
	touch $@

run: $(STAMP)
	$(BIN)/python scripts/run_course.py $(RUN_ARGS)

run-fast: $(STAMP)
	$(BIN)/python scripts/run_course.py --fast --build build/fast $(RUN_ARGS)

slides: $(STAMP)
	$(BIN)/python scripts/make_slides.py $(RUN_ARGS)

# pytest's exit code 5 means "no tests collected" (e.g. PYTEST_ARGS deselected everything): not a failure.
test: $(STAMP)
	COURSE_FAST=1 COURSE_STATIC=1 OMP_NUM_THREADS=1 $(BIN)/python -m pytest --nbval-lax --nbval-current-env \
		-n $(TEST_JOBS) --dist loadfile tests notebooks $(PYTEST_ARGS) \
		|| { status=$$?; if [ $$status -eq 5 ]; then echo "make test: no tests collected"; else exit $$status; fi; }

lab: $(STAMP)
	$(BIN)/jupyter lab --notebook-dir=notebooks $(LAB_ARGS)

exercises: $(STAMP)
	$(BIN)/python scripts/make_exercises.py

bench: $(STAMP)
	$(BIN)/python benchmarks/run.py

sync: $(STAMP)
	$(BIN)/python scripts/sync_notebooks.py
	$(BIN)/python scripts/export_models.py

clean:
	rm -rf build .pytest_cache
	find . \( -path ./$(VENV) -o -path ./.git \) -prune -o \( -name __pycache__ -o -name .ipynb_checkpoints \) -type d -print -exec rm -rf {} +
