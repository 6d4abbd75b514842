# score serve in a container: the course's POST /predict and the Open Inference Protocol v2.
#
#   docker build -t score .
#   docker run --rm -p 9696:9696 score                                   # the linreg model
#   docker run --rm -p 9696:9696 -v $PWD/my-model:/models/mine:ro score serve --model /models/mine
#
# Configuration is by flags or SCORE_* variables (see `score serve --help`), e.g.
# -e SCORE_API_KEY=... -e SCORE_LOG_PREDICTIONS=postgres://user:pw@db:5432/app/predictions.
# serve runs a worker thread a CPU the container may use (docker run --cpus caps them), each holding
# its own copy of the model: -e SCORE_WORKERS=1 in a container with little memory.
# onnxruntime-node and DuckDB (the Parquet/CSV reader and writer) need glibc, hence the Debian image.
FROM denoland/deno:debian-2.9.6

# onnxruntime-node's install script would fetch CUDA libraries; the CPU build is all we need.
ENV ONNXRUNTIME_NODE_INSTALL=skip \
    DENO_DIR=/app/.deno \
    DENO_NO_UPDATE_CHECK=1

WORKDIR /app
COPY deno.json deno.lock ./
COPY main.ts ./
COPY src ./src
COPY models ./models
COPY scripts/warm_cache.ts ./scripts/
# Fetch every npm package once, at build time (main.ts and the modules it loads by a computed specifier,
# LAZY_MODULES in the Makefile); the container never reaches a registry. Then run every command once
# (scripts/warm_cache.ts, through `score` so V8 gets the service's flags) so DENO_DIR holds V8's code
# cache: without it each container's first runs compile every module again.
# The code stays owned by root, read-only for the service user; Deno may write to its caches.
# `score` on PATH (V8's flags as the ./score launcher sets them, why: there), so the same image
# runs every command: serve (the default), a batch CronJob
# (args: ["batch", ...]) or `sh -c 'exec score batch ... --shard "$((JOB_COMPLETION_INDEX + 1))/4"'`.
RUN deno install --entrypoint main.ts src/batch/run_batch.ts src/cli/check_distinct_files.ts src/cli/cli_progress.ts src/commands/batch.ts \
      src/commands/batch_job.ts src/commands/batch_monitor.ts src/commands/consume.ts src/commands/consume_worker.ts \
      src/commands/consume_workers.ts src/commands/inspect.ts \
      src/commands/merge_drift.ts src/commands/monitor_columns.ts src/commands/profile.ts src/commands/shard_drift_rows.ts src/commands/publish.ts src/commands/run_serve.ts \
      src/commands/serve.ts src/commands/serve_worker.ts \
      src/commands/serve_workers.ts src/duckdb/duckdb_node_api.ts \
      src/grpc/mod.ts src/http/create_app.ts src/http/listen.ts src/http/listen_deno.ts src/http/listen_guarded.ts \
      src/inspect/mod.ts \
      src/model/onnxruntime_node.ts src/model/session_worker.ts src/metrics/aggregator_registry.ts src/model/zipmap.ts src/monitor/mod.ts \
      src/postgres/pg_transaction.ts src/postgres/postgres_js.ts \
      src/queue/metrics_server.ts src/queue/mod.ts src/serving/access_log.ts src/serving/data_plane.ts src/serving/drift_watch.ts \
      src/serving/envelope.ts src/serving/metrics.ts src/serving/prediction_log.ts \
      src/sinks/csv_writer_worker.ts src/sinks/mod.ts src/sinks/parquet_sink.ts src/sinks/postgres_sink.ts src/sources/csv_source.ts \
      src/sources/jsonl_source.ts src/sources/mod.ts \
      src/sources/parquet_source.ts src/sources/postgres_source.ts src/sources/reader_worker.ts \
      src/store/http_store.ts src/store/mlflow_model.ts src/store/mod.ts src/store/s3_store.ts \
    && mkdir -p /var/cache/score \
    && chown -R deno:deno /app/.deno /app/node_modules /var/cache/score \
    && printf '#!/bin/sh\nexec deno run --cached-only --v8-flags=--max-semi-space-size=4 --allow-net --allow-read --allow-write --allow-env --allow-ffi --allow-sys /app/main.ts "$@"\n' > /usr/local/bin/score \
    && chmod 755 /usr/local/bin/score \
    && deno run --cached-only --allow-all scripts/warm_cache.ts score /app/models/ride-duration-linreg \
    && chown -R deno:deno /app/.deno
USER deno

# Every address: serve's port, and consume's --metrics-port (127.0.0.1 outside a container).
# Models fetched from S3 or HTTP (--model s3://...) are kept here, and served from here while their
# store is down: mount a volume on it to keep them across restarts.
ENV SCORE_HOST=0.0.0.0 \
    SCORE_PORT=9696 \
    SCORE_CACHE_DIR=/var/cache/score
EXPOSE 9696

# Readiness turns false while the server drains on SIGTERM (docker stop), so the check fails then.
HEALTHCHECK --interval=10s --timeout=3s --start-period=30s --retries=3 \
  CMD ["deno", "eval", "--no-lock", "const r = await fetch(`http://127.0.0.1:${Deno.env.get('SCORE_PORT') ?? '9696'}/v2/health/ready`).catch(() => null); Deno.exit(r?.status === 200 ? 0 : 1);"]

# docker stop (or Kubernetes) sends SIGTERM: readiness turns false while requests are still served
# for --drain-delay (5 s by default, so endpoints stop routing here first; no preStop sleep needed),
# then in-flight requests finish (--shutdown-timeout, 30 s by default), then exit 0. Give docker stop
# a -t, or the pod a terminationGracePeriodSeconds, longer than the two together (e.g. 40).
STOPSIGNAL SIGTERM
ENTRYPOINT ["score"]
CMD ["serve", "--model", "/app/models/ride-duration-linreg"]
