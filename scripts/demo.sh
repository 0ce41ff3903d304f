#!/usr/bin/env bash
# README command 1: installs what is missing, builds, initialises a demo instance on the embedded
# defaults (SQLite in var/, simulators, demo staff accounts, the Yingtan project, a demo CA whose
# keys go to var/ca-keys, a blank software USB key in var/softkeys) and runs certdesk-signer (the only
# process holding the CA keys), certdeskd, certdesk-sim and certdesk-agent (the producer's local key
# program, here over the software key) until Ctrl-C. With --background they keep running and
# `scripts/demo.sh stop` stops them.
set -euo pipefail
cd "$(dirname "$0")/.."
var=${DEMO_DIR:-var}
mkdir -p "$var"

stop() {
	# certdeskd before the signer it calls
	local p pid
	for p in certdesk-agent certdeskd certdesk-sim certdesk-signer; do
		pid=$(cat "$var/$p.pid" 2>/dev/null || true)
		rm -f "$var/$p.pid"
		[ -n "$pid" ] && kill "$pid" 2>/dev/null || continue
		# gone before the next one stops (and before a restart binds its port or socket)
		for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
	done
}
if [ "${1:-}" = stop ]; then
	stop
	exit 0
fi

if [ "$(id -u)" = 0 ]; then scripts/install-deps.sh; else sudo scripts/install-deps.sh; fi
(cd web && npm run build)
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo
cmake --build build -j "$(nproc)" --target certdeskd certdesk certdesk-sim certdesk-signer \
	certdesk-agent certdesk-softskf certdesk-softskf-tool

export CERTDESK_DATABASE_SQLITE_PATH=${CERTDESK_DATABASE_SQLITE_PATH:-$var/certdesk.db}
export CERTDESK_FILES_DATA_DIR=${CERTDESK_FILES_DATA_DIR:-$var/files}
export CERTDESK_LOG_ACCESS_LOG=${CERTDESK_LOG_ACCESS_LOG:-$var/access.log}
export CERTDESK_SERVER_WEB_ROOT=${CERTDESK_SERVER_WEB_ROOT:-web/dist}
# A demo has no SMS provider: its codes are readable at /api/v1/dev/outbox.
export CERTDESK_DEV_EXPOSE_OUTBOX=${CERTDESK_DEV_EXPOSE_OUTBOX:-true}
# The demo CA: `init --demo` writes its keys to keys_dir, certdesk-signer loads them and listens on
# the socket that certdeskd calls (the same variables reach all three).
export CERTDESK_SIGNER_KEYS_DIR=${CERTDESK_SIGNER_KEYS_DIR:-$var/ca-keys}
export CERTDESK_SIGNER_SOCKET=${CERTDESK_SIGNER_SOCKET:-$var/signer.sock}
export CERTDESK_SIGNER_LOG=${CERTDESK_SIGNER_LOG:-$var/signer.log}
port=${CERTDESK_SERVER_PORT:-8080}

stop
build/certdesk init --demo
build/certdesk-signer >"$var/signer-stderr.log" 2>&1 &
echo $! >"$var/certdesk-signer.pid"
for _ in $(seq 100); do
	grep -q 'listening on' "$var/signer-stderr.log" 2>/dev/null && break
	sleep 0.1
done
if ! grep -q 'listening on' "$var/signer-stderr.log"; then
	cat "$var/signer-stderr.log" >&2
	stop
	exit 1
fi
build/certdesk-sim >"$var/sim.log" 2>&1 &
echo $! >"$var/certdesk-sim.pid"
# No USB key can be plugged in here: the demo's key is the software SKF key (a test library, never for
# production) in $var/softkeys, one blank key DEMOKEY01 made once; certdesk-agent drives it as it would
# a vendor's SKF library, and answers this server's pages only.
agent_port=${CERTDESK_DEMO_AGENT_PORT:-21088}
# (CERTDESK_SOFTSKF_DIR reaches the agent only: certdeskd refuses CERTDESK_ variables it does not know)
softkeys=$(cd "$var" && pwd)/softkeys
mkdir -p "$softkeys"
[ -d "$softkeys/DEMOKEY01" ] ||
	build/src/softskf/certdesk-softskf-tool create "$softkeys" DEMOKEY01 --serial DEMOKEY01 >/dev/null
cat >"$var/agent.ini" <<INI
[agent]
port = $agent_port
origins = http://127.0.0.1:$port, http://localhost:$port
[skf]
libraries = $PWD/build/src/softskf/libcertdesk-softskf.so:32
INI
CERTDESK_SOFTSKF_DIR=$softkeys build/certdesk-agent --config "$var/agent.ini" serve >"$var/agent.log" 2>&1 &
echo $! >"$var/certdesk-agent.pid"
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
logs:                  $var/certdeskd.log, $var/access.log, $var/sim.log, $var/signer-stderr.log, $var/agent.log
demo CA:               keys in $CERTDESK_SIGNER_KEYS_DIR (held by certdesk-signer on $CERTDESK_SIGNER_SOCKET;
                       its signature log: $CERTDESK_SIGNER_LOG); CA certificates: http://127.0.0.1:$port/api/v1/ca
USB key (software):    certdesk-agent on 127.0.0.1:$agent_port with one blank software key DEMOKEY01
                       (CERTDESK_SOFTSKF_DIR=$softkeys build/certdesk-agent --config $var/agent.ini list;
                       more keys: build/src/softskf/certdesk-softskf-tool create $softkeys NAME)
demo staff logins:     reviewer, finance, paper, producer, shipper, admin — password Demo-2026
MSG
if [ "${1:-}" = --background ]; then
	echo "stop with: scripts/demo.sh stop"
	exit 0
fi
echo "Ctrl-C stops them all."
trap 'stop; exit 0' INT TERM
wait
