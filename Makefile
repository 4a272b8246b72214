# Two commands matter: `make run` and `make test`. Each builds or refreshes the
# virtual environment it needs (.venv) from pyproject.toml first.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
DB     ?= all
HOST   ?= 127.0.0.1
PORT   ?= 8000

.PHONY: run test lint bench wrk clean lock

# The application's whole set, exactly as locked (versions and hashes), then
# the project itself on top, editable, its dependencies already there.
$(STAMP): pyproject.toml requirements.lock
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@$(BIN)/python -m pip install --quiet --upgrade pip
	@$(BIN)/python -m pip install --quiet --require-hashes -r requirements.lock
	@$(BIN)/python -m pip install --quiet --no-deps -e .
	@touch $(STAMP)

## lock: pin the application's dependencies again (requirements.lock) from pyproject.toml's ranges
lock: $(STAMP)
	$(BIN)/python -m pip install --quiet uv
	$(BIN)/uv pip compile pyproject.toml --extra app --extra postgresql --extra mysql \
		--extra async --extra dev --generate-hashes --universal --python-version 3.11 \
		-o requirements.lock

## run: serve the API with demo data on http://$(HOST):$(PORT) (127.0.0.1:8000; the default SQLite database, ./instance)
run: $(STAMP)
	$(BIN)/alchemy-patterns serve --demo --host $(HOST) --port $(PORT)

## test: the whole suite on SQLite, PostgreSQL and MariaDB (DB=sqlite|postgresql|mariadb for one)
test: $(STAMP)
	$(BIN)/pytest --db $(DB)

## lint: ruff (check and format) and mypy --strict
lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy --strict src

## bench: the benchmarks (ratios to a baseline measured in the same run); installs wrk and valgrind as root
bench: $(STAMP) wrk valgrind
	$(BIN)/python benchmarks/bulk_insert.py
	$(BIN)/python benchmarks/stream.py
	$(BIN)/python benchmarks/cart.py
	$(BIN)/python benchmarks/loading.py
	$(BIN)/python benchmarks/pagination.py
	$(BIN)/python benchmarks/statement.py
	$(BIN)/python benchmarks/growth.py
	$(BIN)/python benchmarks/replicas.py
	$(BIN)/python benchmarks/async_vs_threads.py
	$(BIN)/python benchmarks/api.py
	$(BIN)/python benchmarks/instructions.py

# benchmarks/instructions.py counts with valgrind (Debian's package).
valgrind:
	@command -v valgrind >/dev/null || test "$$(id -u)" != 0 \
		|| apt-get install -y valgrind || { apt-get update && apt-get install -y valgrind; }

# benchmarks/api.py loads the servers with wrk (Debian's package).
wrk:
	@command -v wrk >/dev/null || test "$$(id -u)" != 0 \
		|| apt-get install -y wrk || { apt-get update && apt-get install -y wrk; }
	@command -v wrk >/dev/null || { echo "benchmarks/api.py needs wrk: apt-get install wrk"; exit 1; }

clean:
	rm -rf $(VENV) instance .pytest_cache .mypy_cache .ruff_cache
