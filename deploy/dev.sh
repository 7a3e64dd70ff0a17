#!/usr/bin/env bash
# `make dev`: the local stack with what runs on this machine, saying plainly what does not.
#
# - Store: PostgreSQL at DEV_DATABASE_URL when TokenForge can log in and query it; when it answers
#   but refuses the login (a missing role or database), the reason is printed with the commands
#   that create them, and the gateway keeps embedded PGlite. Artifacts: MinIO at DEV_S3_ENDPOINT
#   when it answers, else a local directory.
# - A stub worker: the simulated engine (`tokenforge sim`) on 127.0.0.1:DEV_SIM_PORT, where the
#   shipped Prometheus config scrapes a hand-started worker.
# - Prometheus, when installed, with deploy/prometheus/prometheus.yml (which also discovers the
#   workers the gateway deploys); its data under $DEV_DATA/prometheus.
# - The gateway in the foreground; Ctrl-C stops it and everything this script started.
# What needs Docker (or its own install) is listed, never started half-way.
set -uo pipefail

HOST=${HOST:-127.0.0.1}
PORT=${PORT:-8080}
DEV_DATABASE_URL=${DEV_DATABASE_URL:-postgres://tokenforge:tokenforge@127.0.0.1:5432/tokenforge}
DEV_S3_ENDPOINT=${DEV_S3_ENDPOINT:-http://127.0.0.1:9000}
DEV_SIM_PORT=${DEV_SIM_PORT:-8000}
DEV_PROMETHEUS_PORT=${DEV_PROMETHEUS_PORT:-9090}
DEV_DATA=${DEV_DATA:-.tokenforge/dev}
# The project's pinned Node 22 (npm install puts it there); $NODE, which npm sets to whatever Node
# runs npm itself, is not used.
NODE=node_modules/.bin/node
TF=("$NODE" dist/cli/tokenforge.js)

say() { printf 'dev: %s\n' "$*"; }
needs_docker=()
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
}
trap cleanup EXIT
trap 'exit 130' INT TERM

if [[ ! -x $NODE || ! -f dist/cli/tokenforge.js ]]; then
  say "run \`make build\` first (no $NODE or dist/cli/tokenforge.js)"
  exit 1
fi
mkdir -p "$DEV_DATA"

listening() { (exec 3<>"/dev/tcp/$1/$2") 2>/dev/null; }

# --- store -------------------------------------------------------------------------------------
db_problem=$("$NODE" -e '
  const { Client } = require("pg");
  const c = new Client({ connectionString: process.argv[1], connectionTimeoutMillis: 3000 });
  c.connect().then(() => c.query("select 1")).then(() => c.end()).then(
    () => process.exit(0),
    (e) => { process.stdout.write(e.code === "ECONNREFUSED" ? "refused" : e.message); process.exit(1); },
  );' "$DEV_DATABASE_URL" 2>&1)
if [[ $? -eq 0 ]]; then
  say "store: PostgreSQL at ${DEV_DATABASE_URL%%\?*}"
  export DATABASE_URL=$DEV_DATABASE_URL
elif [[ $db_problem == refused* || -z $db_problem ]]; then
  say "store: embedded PGlite in ${TOKENFORGE_DATA_DIR:-the default data directory} (no PostgreSQL answers at DEV_DATABASE_URL)"
  needs_docker+=("PostgreSQL (make compose-up, or install it and set DEV_DATABASE_URL)")
else
  say "store: PostgreSQL answers but TokenForge cannot use it: $db_problem"
  say "       using embedded PGlite instead. To use PostgreSQL, as its superuser:"
  say "         createuser --pwprompt tokenforge && createdb --owner tokenforge tokenforge"
  say "       or point DEV_DATABASE_URL at a role and database that exist."
fi

# --- artifacts ---------------------------------------------------------------------------------
if curl -fsS -o /dev/null --max-time 3 "$DEV_S3_ENDPOINT/minio/health/live" 2>/dev/null; then
  say "artifacts: MinIO at $DEV_S3_ENDPOINT, bucket ${DEV_S3_BUCKET:-tokenforge}"
  export TOKENFORGE_S3_BUCKET=${DEV_S3_BUCKET:-tokenforge} TOKENFORGE_S3_ENDPOINT=$DEV_S3_ENDPOINT \
    TOKENFORGE_S3_FORCE_PATH_STYLE=true TOKENFORGE_S3_REGION=us-east-1 \
    AWS_ACCESS_KEY_ID=${DEV_S3_USER:-minioadmin} AWS_SECRET_ACCESS_KEY=${DEV_S3_PASSWORD:-minioadmin}
else
  say "artifacts: a local directory (no MinIO at $DEV_S3_ENDPOINT)"
  needs_docker+=("MinIO (make compose-up)")
fi

# --- stub worker -------------------------------------------------------------------------------
if listening 127.0.0.1 "$DEV_SIM_PORT"; then
  say "stub worker: not started, something already listens on 127.0.0.1:$DEV_SIM_PORT"
else
  "${TF[@]}" sim --host 127.0.0.1 --port "$DEV_SIM_PORT" --model sim --ttft-ms 20 --itl-ms 10 \
    >"$DEV_DATA/sim.log" 2>&1 &
  pids+=($!)
  say "stub worker: the simulated engine at http://127.0.0.1:$DEV_SIM_PORT (model sim; log $DEV_DATA/sim.log)"
fi

# --- Prometheus --------------------------------------------------------------------------------
if command -v prometheus >/dev/null 2>&1; then
  if listening 127.0.0.1 "$DEV_PROMETHEUS_PORT"; then
    say "Prometheus: not started, something already listens on 127.0.0.1:$DEV_PROMETHEUS_PORT"
  else
    prometheus --config.file=deploy/prometheus/prometheus.yml --storage.tsdb.path="$DEV_DATA/prometheus" \
      --web.listen-address="127.0.0.1:$DEV_PROMETHEUS_PORT" >"$DEV_DATA/prometheus.log" 2>&1 &
    pids+=($!)
    say "Prometheus: http://127.0.0.1:$DEV_PROMETHEUS_PORT (deploy/prometheus/prometheus.yml; log $DEV_DATA/prometheus.log)"
  fi
else
  needs_docker+=("Prometheus (make compose-up, or apt-get install prometheus)")
fi
if command -v grafana-server >/dev/null 2>&1; then
  say "Grafana is installed but not started by make dev: provisioning in deploy/grafana/ (deploy/README.md)"
else
  needs_docker+=("Grafana (make compose-up)")
fi
if ((${#needs_docker[@]} > 0)); then
  say "not running here, needs Docker or its own install:"
  for n in "${needs_docker[@]}"; do say "  - $n"; done
fi

# --- gateway -----------------------------------------------------------------------------------
say "gateway: http://$HOST:$PORT (web UI at /ui); Ctrl-C stops everything started here"
"${TF[@]}" serve --host "$HOST" --port "$PORT" &
pids+=($!)
wait "${pids[-1]}"
