PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test lint bench setup clean chromium spark-cluster spark-cluster-stop

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

setup: $(STAMP)

demo: $(STAMP)
	$(BIN)/tierwise demo demo-shop --force

# the dashboard tests drive Debian's Chromium (Playwright's own browser download is not used)
chromium:
	@(test -x /usr/bin/chromium && dpkg -s fonts-noto-cjk >/dev/null 2>&1) || \
		(apt-get update && apt-get install -y chromium fonts-noto-cjk)

test: $(STAMP) chromium
	$(BIN)/ruff check src tests bench
	$(BIN)/python -m pytest -q

bench: $(STAMP)
	$(BIN)/pip install --quiet -e '.[dev,bench]'
	$(BIN)/python -m bench

SPARK_CLUSTER_DIR ?= .spark-cluster
SPARK_PORT ?= 7077
SPARK_UI_PORT ?= 8080

spark-cluster: $(STAMP)
	$(BIN)/python -m tierwise.spark_cluster start --dir $(SPARK_CLUSTER_DIR) \
		--port $(SPARK_PORT) --webui-port $(SPARK_UI_PORT)

spark-cluster-stop:
	$(BIN)/python -m tierwise.spark_cluster stop --dir $(SPARK_CLUSTER_DIR)

clean:
	if [ -x $(BIN)/python ]; then $(MAKE) spark-cluster-stop; fi
	rm -rf $(VENV) demo-shop $(SPARK_CLUSTER_DIR)
