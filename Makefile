# score: every target runs through scripts/deno, which installs the pinned
# Deno on first use. `make test` is what CI runs.
DENO   := ./scripts/deno
PYTHON := /usr/bin/python3
DATA   ?= data
ORT_BIN := node_modules/.deno/onnxruntime-node@1.30.0/node_modules/onnxruntime-node/bin/napi-v6
DUCKDB_BIN := node_modules/.deno/@duckdb+node-bindings-linux-x64@1.5.6-r.1
DUCKDB_MUSL_BIN := node_modules/.deno/@duckdb+node-bindings-linux-x64-musl@1.5.6-r.1

.PHONY: test check fmt lint models diagram build bench bench-batch bench-postgres bench-serve bench-consume bench-soak bench-wide bench-start clean

test: ## every test: unit, parity, end to end, Postgres and RabbitMQ integration
	$(DENO) task test

check: ## type-check everything
	$(DENO) check main.ts tests/ bench/ examples/

lint: ## deno lint and format check
	$(DENO) lint && $(DENO) fmt --check

fmt:
	$(DENO) fmt

models: ## convert the course's pickles to models/*/model.onnx and tests/fixtures/golden (needs apt python3-sklearn python3-onnx python3-pandas)
	$(PYTHON) models/recipe/convert.py --data $(DATA) --out models

diagram: ## docs/img/score.svg from its source, docs/img/score.dot (needs Graphviz: apt-get install graphviz)
	dot -Tsvg docs/img/score.dot -o docs/img/score.svg

LAZY_MODULES := \
  src/batch/run_batch.ts \
  src/cli/check_distinct_files.ts \
  src/cli/cli_progress.ts \
  src/commands/batch.ts \
  src/commands/batch_job.ts \
  src/commands/batch_monitor.ts \
  src/commands/consume.ts \
  src/commands/consume_workers.ts \
  src/commands/inspect.ts \
  src/commands/merge_drift.ts \
  src/commands/monitor_columns.ts \
  src/commands/profile.ts \
  src/commands/publish.ts \
  src/commands/run_serve.ts \
  src/commands/shard_drift_rows.ts \
  src/commands/serve.ts \
  src/commands/serve_workers.ts \
  src/duckdb/duckdb_node_api.ts \
  src/grpc/mod.ts \
  src/http/create_app.ts \
  src/http/listen.ts \
  src/http/listen_deno.ts \
  src/http/listen_guarded.ts \
  src/inspect/mod.ts \
  src/model/onnxruntime_node.ts \
  src/model/session_worker.ts \
  src/model/zipmap.ts \
  src/metrics/aggregator_registry.ts \
  src/monitor/mod.ts \
  src/postgres/pg_transaction.ts \
  src/postgres/postgres_js.ts \
  src/queue/metrics_server.ts \
  src/queue/mod.ts \
  src/serving/access_log.ts \
  src/serving/data_plane.ts \
  src/serving/drift_watch.ts \
  src/serving/envelope.ts \
  src/serving/metrics.ts \
  src/serving/prediction_log.ts \
  src/sinks/csv_writer_worker.ts \
  src/sinks/mod.ts \
  src/sinks/parquet_sink.ts \
  src/sinks/postgres_sink.ts \
  src/sources/csv_source.ts \
  src/sources/jsonl_source.ts \
  src/sources/mod.ts \
  src/sources/parquet_source.ts \
  src/sources/postgres_source.ts \
  src/sources/reader_worker.ts \
  src/store/http_store.ts \
  src/store/mlflow_model.ts \
  src/store/mod.ts \
  src/store/s3_store.ts

# One self-extracting executable with the models and the two native
# libraries beside their addons: onnxruntime's addon loads
# libonnxruntime.so.1, DuckDB's (the file reader and writer) libduckdb.so,
# each from its own folder, so a plain compile, which copies the .node file
# alone, cannot load them. DuckDB's addon is required by a name computed at
# run time, hence its explicit --include. Only linux-x64 (glibc) binaries
# are kept. The modules loaded by a computed specifier (each command, and
# the code and libraries a command loads only when it uses them: see
# src/lazy_import.ts) and the workers are not in main.ts's static graph,
# hence LAZY_MODULES, each --include'd (tests/lazy_import_test.ts checks
# the list against the code), and so is the gRPC service's proto, read
# from its file when --grpc-port is given. deno compile downloads its runtime (denort)
# on first use: this needs a machine that can reach it. V8's flags as the
# ./score launcher sets them (why: there).
build: ## dist/score for linux-x64
	$(DENO) install --quiet
	$(DENO) compile --allow-all --unstable-net --v8-flags=--max-semi-space-size=4 --self-extracting --target x86_64-unknown-linux-gnu \
	  --include models --include $(ORT_BIN)/linux/x64 --include $(DUCKDB_BIN) \
	  $(addprefix --include ,$(LAZY_MODULES)) \
	  --include src/grpc/grpc_predict_v2.proto \
	  --include src/commands/serve_worker.ts \
	  --include src/commands/consume_worker.ts \
	  --exclude $(ORT_BIN)/darwin --exclude $(ORT_BIN)/win32 --exclude $(ORT_BIN)/linux/arm64 \
	  --exclude $(DUCKDB_MUSL_BIN) \
	  --output dist/score main.ts

bench: bench-batch

bench-batch:
	$(DENO) task bench:batch

bench-postgres:
	$(DENO) task bench:postgres

bench-serve:
	$(DENO) task bench:serve

bench-consume:
	$(DENO) task bench:consume

bench-soak: ## serve and consume under hostile clients and broker drops for a few minutes (SOAK_SECONDS)
	$(DENO) task bench:soak

bench-wide: ## score batch on a 100-feature [N,K] model vs raw onnxruntime and a reader-into-writer copy
	$(DENO) task bench:wide

bench-start: ## each command's start-up (--help, a 1-row batch, inspect, serve and consume ready) vs `deno run` of one line
	$(DENO) task bench:start

clean:
	rm -rf dist bench/out
