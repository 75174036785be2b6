#!/usr/bin/env bash
# Hand-run check of deploy/dagster.yaml, for real: PostgreSQL storage, the queued run coordinator
# run by dagster-daemon, the multiprocess executor, the netsuite_api pool, and `sync_all`
# against both sandboxes, printing what PostgreSQL holds. CI runs the same steps with the
# in-process executor: zsync_assets_tests/test_deploy_postgres.py.
#
#   deploy/check.sh        # starts a throwaway PostgreSQL (needs initdb/pg_ctl, e.g. Debian
#                          # `apt-get install postgresql`)
#   ZSYNC_PG_HOST=db.internal ZSYNC_PG_PORT=5432 ZSYNC_PG_USER=dagster ZSYNC_PG_PASSWORD=... \
#   ZSYNC_PG_DB=dagster deploy/check.sh       # uses that (empty) database instead
#
# Needs `pip install -e '.[deploy]'`. Everything else lives in a temp dir and is removed,
# unless KEEP=1. Exit status 0 only when the run succeeded and PostgreSQL holds it.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
BIN=${BIN:-$ROOT/.venv/bin}
WORK=$(mktemp -d /tmp/zsync-deploy-check.XXXXXX)
chmod 755 "$WORK"
PIDS=()
PG_DIR=""

log() { printf '[%s] %s\n' "$(date +%H:%M:%S)" "$*"; }

cleanup() {
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
  if [[ -n $PG_DIR ]]; then pg_as_owner "$PG_CTL" -D "$PG_DIR" -m fast stop >/dev/null 2>&1 || true; fi
  if [[ ${KEEP:-} == 1 ]]; then log "kept $WORK"; else rm -rf "$WORK"; fi
}
trap cleanup EXIT

free_port() { "$BIN/python" -c 'from zsync_assets.sandbox.runner import free_port; print(free_port())'; }

# PostgreSQL refuses to run as root: the throwaway cluster belongs to the `postgres` user then.
pg_as_owner() { if [[ $(id -u) == 0 ]]; then runuser -u postgres -- "$@"; else "$@"; fi; }

# --- 1. PostgreSQL ------------------------------------------------------------------------------
if [[ -z ${ZSYNC_PG_HOST:-} ]]; then
  PG_BIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
  [[ -x ${PG_BIN:-}/initdb ]] || { echo "no initdb found: install PostgreSQL or set ZSYNC_PG_HOST..." >&2; exit 2; }
  PG_CTL=$PG_BIN/pg_ctl
  PG_DIR=$WORK/pg
  PG_PORT=$(free_port)
  mkdir -p "$PG_DIR" && chmod 700 "$PG_DIR"
  [[ $(id -u) == 0 ]] && chown postgres "$PG_DIR"
  log "initdb + start PostgreSQL on 127.0.0.1:$PG_PORT"
  pg_as_owner "$PG_BIN/initdb" -D "$PG_DIR" -U dagster --auth=trust >/dev/null
  pg_as_owner "$PG_CTL" -D "$PG_DIR" -l "$PG_DIR/server.log" -w \
    -o "-p $PG_PORT -k $PG_DIR -c listen_addresses=127.0.0.1" start >/dev/null
  pg_as_owner "$PG_BIN/createdb" -h 127.0.0.1 -p "$PG_PORT" -U dagster dagster
  export ZSYNC_PG_HOST=127.0.0.1 ZSYNC_PG_PORT=$PG_PORT ZSYNC_PG_USER=dagster ZSYNC_PG_PASSWORD="" \
    ZSYNC_PG_DB=dagster
fi
psql_q() {
  PGPASSWORD=$ZSYNC_PG_PASSWORD psql -X -v ON_ERROR_STOP=1 -h "$ZSYNC_PG_HOST" -p "$ZSYNC_PG_PORT" \
    -U "$ZSYNC_PG_USER" -d "$ZSYNC_PG_DB" "$@"
}

# --- 2. Dagster home, warehouse, sandboxes ------------------------------------------------------
export DAGSTER_HOME=$WORK/dagster_home
mkdir -p "$DAGSTER_HOME"
cp deploy/dagster.yaml "$DAGSTER_HOME/dagster.yaml"
export ZSYNC_DB=$WORK/warehouse/zsync.duckdb
mkdir -p "$(dirname "$ZSYNC_DB")"

ZUORA_PORT=$(free_port); NETSUITE_PORT=$(free_port)
log "sandboxes on :$ZUORA_PORT (Zuora) and :$NETSUITE_PORT (NetSuite)"
"$BIN/zsync" sandbox --zuora-port "$ZUORA_PORT" --netsuite-port "$NETSUITE_PORT" \
  --data-dir "$WORK/sandbox" --size 40 >"$WORK/sandbox.log" 2>&1 &
PIDS+=($!)
for _ in $(seq 100); do grep -q "sandboxes ready" "$WORK/sandbox.log" && break; sleep 0.2; done
grep -q "sandboxes ready" "$WORK/sandbox.log" || { cat "$WORK/sandbox.log"; exit 1; }
# Point zsync at the sandboxes on these ports (their public default credentials).
eval "$("$BIN/python" - "$ZUORA_PORT" "$NETSUITE_PORT" <<'EOF'
import sys
from zsync_assets.clients.netsuite.resource import sandbox_endpoint_url, sandbox_wsdl_url
from zsync_assets.sandbox import defaults
zuora, netsuite = (f"http://{defaults.HOST}:{p}" for p in sys.argv[1:])
print(f"export ZUORA_BASE_URL={zuora} ZUORA_CLIENT_ID={defaults.ZUORA_CLIENT_ID} "
      f"ZUORA_CLIENT_SECRET={defaults.ZUORA_CLIENT_SECRET} "
      f"NETSUITE_WSDL_URL={sandbox_wsdl_url(netsuite)} NETSUITE_ENDPOINT_URL={sandbox_endpoint_url(netsuite)}")
EOF
)"

# --- 3. Instance in PostgreSQL, pool limit, daemon ----------------------------------------------
log "dagster instance migrate (creates Dagster's tables in PostgreSQL)"
"$BIN/dagster" instance migrate >/dev/null
"$BIN/dagster" instance concurrency set netsuite_api 1
"$BIN/dagster" instance concurrency set zuora_api 1
log "start dagster-daemon (queued run coordinator)"
"$BIN/dagster-daemon" run -w workspace.yaml >"$WORK/daemon.log" 2>&1 &
PIDS+=($!)

# --- 4. Launch sync_all through the queue and wait ---------------------------------------------
START=$(date +%s)
log "dagster job launch -j sync_all (multiprocess executor, max_concurrent 2)"
"$BIN/dagster" job launch -w workspace.yaml -j sync_all \
  --config-json '{"execution": {"config": {"multiprocess": {"max_concurrent": 2}}}}' >"$WORK/launch.log" 2>&1 \
  || { cat "$WORK/launch.log"; exit 1; }
RUN_ID=$(psql_q -At -c "select run_id from runs order by create_timestamp desc limit 1")
log "run $RUN_ID queued"
STATUS=""
for _ in $(seq 600); do
  STATUS=$(psql_q -At -c "select status from runs where run_id = '$RUN_ID'")
  case $STATUS in SUCCESS|FAILURE|CANCELED) break ;; esac
  sleep 1
done
log "run $RUN_ID: $STATUS after $(( $(date +%s) - START ))s"

# --- 5. What PostgreSQL holds -------------------------------------------------------------------
psql_q -c "select run_id, pipeline_name as job, status, create_timestamp, update_timestamp
           from runs where run_id = '$RUN_ID'"
# Run-level events keep their legacy PIPELINE_* names in the event log.
psql_q -c "select dagster_event_type, count(*) from event_logs where run_id = '$RUN_ID'
           and dagster_event_type in ('PIPELINE_ENQUEUED', 'PIPELINE_STARTING', 'PIPELINE_START',
             'PIPELINE_SUCCESS', 'PIPELINE_FAILURE', 'STEP_WORKER_STARTED', 'STEP_SUCCESS', 'STEP_FAILURE',
             'ASSET_MATERIALIZATION', 'ASSET_CHECK_EVALUATION')
           group by 1 order by 1"
psql_q -c "select concurrency_key as pool, \"limit\" from concurrency_limits order by 1"
# Multiprocess executor: every step in its own process. Spawn = worker starting -> step start.
psql_q -c "with e as (select step_key, dagster_event_type as t, timestamp as ts,
                             event::json->'dagster_event'->>'pid' as pid
                      from event_logs where run_id = '$RUN_ID' and step_key is not null)
           select count(distinct s.pid) as step_processes,
                  round(avg(extract(epoch from s.ts - w.ts))::numeric, 1) as avg_spawn_s,
                  round(avg(extract(epoch from ok.ts - s.ts))::numeric, 2) as avg_step_s,
                  round(max(extract(epoch from ok.ts - s.ts))::numeric, 2) as max_step_s
           from e w join e s on s.step_key = w.step_key and s.t = 'STEP_START'
                    join e ok on ok.step_key = w.step_key and ok.t = 'STEP_SUCCESS'
           where w.t = 'STEP_WORKER_STARTING'"
"$BIN/zsync" sql "select flow, action, status, count(*) as n from zsync.push_log group by all order by all" \
  2>/dev/null || true

if [[ $STATUS != SUCCESS ]]; then
  psql_q -At -c "select event::json->'dagster_event'->'event_specific_data'->'error'->>'message'
                 from event_logs where run_id = '$RUN_ID' and dagster_event_type = 'STEP_FAILURE' limit 3" || true
  tail -20 "$WORK/daemon.log"
  exit 1
fi
log "OK: sync_all succeeded through the queued coordinator, recorded in PostgreSQL"
