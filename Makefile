# siyu: `make run` starts the whole stack locally; `make test` runs every check.
# Both install what they need (a virtualenv in .venv, SAM CLI in .tools/sam, Chromium for the browser test).

# The template's runtime is python3.13: the virtualenvs, the local stack and the tests use the same minor
# version. Looked for on PATH (pyenv's shim works here thanks to .python-version), then in pyenv's own folder.
ifndef PYTHON
PYTHON := $(shell command -v python3.13 2>/dev/null || ls -d $(HOME)/.pyenv/versions/3.13*/bin/python3.13 2>/dev/null | sort -V | tail -1)
endif
NEED_PYTHON = @test -n "$(PYTHON)" || { echo "Python 3.13 is needed (the Lambda runtime in template.yaml): install it" \
	  "(e.g. pyenv install 3.13) or run make PYTHON=/path/to/python3.13" >&2; exit 1; }
# `sam build` looks for python3.13 on PATH only: for sam alone, the folder of the one found goes first there.
SAM_BUILD = PATH="$(abspath $(dir $(shell command -v $(PYTHON) 2>/dev/null))):$$PATH" $(SAM) build
VENV   := .venv
PY     := $(VENV)/bin/python
SAM    := .tools/sam/bin/sam
PORT   ?= 3000
export SAM_CLI_TELEMETRY := 0
export PIP_DISABLE_PIP_VERSION_CHECK := 1

.PHONY: run test lint typecheck template build-host unit integration built e2e contract bench install clean console console-openapi

run: $(VENV)/.installed console
	$(PY) -m local_stack --port $(PORT)

test: lint typecheck template unit integration built e2e contract

install: $(VENV)/.installed $(SAM) chromium

$(VENV)/.installed: requirements-dev.txt layers/siyu/requirements.txt
	$(NEED_PYTHON)
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install -q --upgrade pip
	$(VENV)/bin/pip install -q -r requirements-dev.txt
	touch $@

# SAM CLI pins its own dependencies: it gets a virtualenv of its own.
$(SAM):
	$(NEED_PYTHON)
	$(PYTHON) -m venv .tools/sam
	.tools/sam/bin/pip install -q --upgrade pip
	.tools/sam/bin/pip install -q aws-sam-cli==1.170.0

# Debian's Chromium, for the test that opens the scan page like a phone and decodes its QR.
.PHONY: chromium
chromium:
	@command -v chromium >/dev/null || { \
	  echo "installing Debian's chromium for the browser test"; \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	  else sudo apt-get update -qq && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; fi; }

# The operator console (console/: Vue 3 + Element Plus + ECharts), built with the locked npm packages into
# functions/console/static/, which the console function serves and `sam build` packages.
CONSOLE_BUILT := functions/console/static/index.html
CONSOLE_SOURCES := $(shell find console/src console/public -type f 2>/dev/null) \
	console/index.html console/vite.config.js console/package.json console/package-lock.json
NEED_NODE = @command -v npm >/dev/null || { echo "Node.js 20 and npm are needed to build the console (console/.nvmrc)" >&2; exit 1; }

console: $(CONSOLE_BUILT)

console/node_modules/.installed: console/package.json console/package-lock.json
	$(NEED_NODE)
	cd console && npm ci --no-audit --no-fund --loglevel=error
	touch $@

$(CONSOLE_BUILT): console/node_modules/.installed $(CONSOLE_SOURCES)
	cd console && npx --no-install vite build --logLevel warn

# The admin API's OpenAPI document as the console's contract file (a test fails when it is stale).
console-openapi: $(VENV)/.installed
	$(PY) scripts/console_openapi.py

lint: $(VENV)/.installed
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

# mypy --strict on the layer (settings, and the modules not yet held to it, in pyproject's [tool.mypy]).
typecheck: $(VENV)/.installed
	$(VENV)/bin/mypy --config-file pyproject.toml

template: $(VENV)/.installed $(SAM) console
	$(VENV)/bin/cfn-lint template.yaml
	$(SAM) validate --lint --template template.yaml
	.tools/sam/bin/python -m local_stack.transform_check template.yaml
	$(SAM_BUILD) --template template.yaml --build-dir .aws-sam/build

# The same template built for this machine's architecture, so the built functions can be imported
# and run here: `make built` and the e2e tests use it (the arm64 build above is what deploys).
HOST_BUILD := .aws-sam/host
build-host: $(VENV)/.installed $(SAM) console
	$(PY) -m local_stack.host_build template.yaml .aws-sam/host-src/template.yaml
	$(SAM_BUILD) --template .aws-sam/host-src/template.yaml --build-dir $(HOST_BUILD)

# The boto3 that the Lambda runtime provides, on its own: the built-function checks import each
# handler with this, its built folder and the built layer, and nothing else.
LAMBDA_RUNTIME := .tools/lambda-runtime
$(LAMBDA_RUNTIME)/.installed: tests/built/lambda-runtime.txt $(VENV)/.installed
	rm -rf $(LAMBDA_RUNTIME)
	$(VENV)/bin/pip install -q --target $(LAMBDA_RUNTIME) -r tests/built/lambda-runtime.txt
	touch $@

built: build-host $(LAMBDA_RUNTIME)/.installed
	$(PY) -m pytest -q tests/built

unit: $(VENV)/.installed
	$(PY) -m pytest -q tests/unit

integration: $(VENV)/.installed
	$(PY) -m pytest -q tests/integration

# The end-to-end tests run the local stack on the built artifacts (SIYU_TEMPLATE).
e2e: $(VENV)/.installed chromium build-host console
	SIYU_TEMPLATE=$(HOST_BUILD)/template.yaml $(PY) -m pytest -q tests/e2e

# The admin API against its own OpenAPI document: schemathesis (settings in schemathesis.toml) on a
# local stack started on a free port with a fresh data directory; about 2.5 minutes on 2 cores.
contract: $(VENV)/.installed build-host
	SIYU_TEMPLATE=$(HOST_BUILD)/template.yaml $(PY) scripts/contract.py

bench: $(VENV)/.installed console chromium
	$(PY) bench/scan_bench.py
	$(PY) bench/hot_code_bench.py
	$(PY) bench/cost_bench.py
	$(PY) bench/rotation_bench.py
	$(PY) bench/sop_bench.py
	$(PY) bench/poster_bench.py
	$(PY) bench/campaign_page_import_bench.py
	$(PY) bench/console_weight_bench.py

clean:
	rm -rf $(VENV) .tools .aws-sam .pytest_cache console/node_modules functions/console/static
