#!/usr/bin/env bash
# README command 1: installs what is missing, builds, initialises a demo instance on the embedded
# defaults (SQLite in var/, simulators, demo staff accounts, the Yingtan project) and runs
# certdeskd and certdesk-sim until Ctrl-C. With --background both keep running and
# `scripts/demo.sh stop` stops them.
set -euo pipefail
cd "$(dirname "$0")/.."
var=${DEMO_DIR:-var}
mkdir -p "$var"

stop() {
	for p in certdeskd certdesk-sim; do
		[ -f "$var/$p.pid" ] && kill "$(cat "$var/$p.pid")" 2>/dev/null || true
		rm -f "$var/$p.pid"
	done
}
if [ "${1:-}" = stop ]; then
	stop
	exit 0
fi

if [ "$(id -u)" = 0 ]; then scripts/install-deps.sh; else sudo scripts/install-deps.sh; fi
(cd web && npm run build)
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo
cmake --build build -j "$(nproc)" --target certdeskd certdesk certdesk-sim

export CERTDESK_DATABASE_SQLITE_PATH=${CERTDESK_DATABASE_SQLITE_PATH:-$var/certdesk.db}
export CERTDESK_FILES_DATA_DIR=${CERTDESK_FILES_DATA_DIR:-$var/files}
export CERTDESK_LOG_ACCESS_LOG=${CERTDESK_LOG_ACCESS_LOG:-$var/access.log}
export CERTDESK_SERVER_WEB_ROOT=${CERTDESK_SERVER_WEB_ROOT:-web/dist}
# A demo has no SMS provider: its codes are readable at /api/v1/dev/outbox.
export CERTDESK_DEV_EXPOSE_OUTBOX=${CERTDESK_DEV_EXPOSE_OUTBOX:-true}
port=${CERTDESK_SERVER_PORT:-8080}

stop
build/certdesk init --demo
build/certdesk-sim >"$var/sim.log" 2>&1 &
echo $! >"$var/certdesk-sim.pid"
build/certdeskd >"$var/certdeskd.log" 2>&1 &
echo $! >"$var/certdeskd.pid"
for _ in $(seq 100); do
	curl -fsS "http://127.0.0.1:$port/healthz" >/dev/null 2>&1 && break
	sleep 0.1
done
if ! curl -fsS "http://127.0.0.1:$port/healthz" >/dev/null; then
	cat "$var/certdeskd.log" >&2
	stop
	exit 1
fi
cat <<MSG

certdesk is running:   http://127.0.0.1:$port/   (staff console: http://127.0.0.1:$port/admin)
SMS codes (demo only): http://127.0.0.1:$port/api/v1/dev/outbox
simulators:            http://127.0.0.1:${CERTDESK_SIM_PORT:-8090}/_sim/requests
database (SQLite):     $CERTDESK_DATABASE_SQLITE_PATH
logs:                  $var/certdeskd.log, $var/access.log, $var/sim.log
demo staff logins:     reviewer, finance, paper, producer, shipper, admin — password Demo-2026
MSG
if [ "${1:-}" = --background ]; then
	echo "stop with: scripts/demo.sh stop"
	exit 0
fi
echo "Ctrl-C stops both."
trap 'stop; exit 0' INT TERM
wait
