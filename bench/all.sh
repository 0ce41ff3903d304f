#!/usr/bin/env bash
# bench/all.sh: every row of issue 17's table, each next to its reference in the same run on the
# same machine, written to docs/performance.md (between the bench/all.sh markers) and to
# bench/results/<time>-all.json. See docs/performance.md for what each row means.
#
#   order   an organisation's GET /api/v1/orders/{no} (session cookie, database read, JSON), access
#           log on — against nginx serving the same bytes from a file, access log on
#   queue   a producer's GET /api/v1/admin/queues/production with 50 orders — against nginx, same bytes
#   upload  PUT /api/v1/orders/{no}/documents/business_licence, a ~1 MB JPEG (multipart; decoded,
#           QR-scanned, stored with fsync; 32 bytes differ per request so that each one is a new
#           file) — against nginx accepting the same request body to disk (WebDAV PUT)
#   forms   the three PDF forms of a main key's order, warm: forms/s with nproc clients, and each
#           form's own time (median of sequential requests)
#   burst   BENCH_BURST new organisations through register, order, five uploads, face verification,
#           submit, pre-review pass and WeChat Pay, through certdesk-sim; per-request p99, total time
#   idle    BENCH_IDLE idle keep-alive connections: certdeskd's RSS, and GET /api/v1/meta's rate with
#           them open against its rate without them
#   login   organisation logins/s (each: new session, captcha, POST login, logout) — against libsodium's
#           Argon2id verification alone in C (bench/argon2-ref.c) on all cores, same parameters
#
# Environment (all optional):
#   BUILD_DIR             certdeskd, certdesk, certdesk-sim (default <repo>/build; a Release build)
#   BENCH_ROWS            which rows (default "order queue upload forms idle login burst")
#   BENCH_DURATION        wrk duration per measured target (default 10s); BENCH_WARMUP (2s)
#   BENCH_CONNECTIONS     wrk connections for the GETs (default 64); BENCH_THREADS wrk threads (2)
#   BENCH_UPLOAD_CONNECTIONS  (default 8)
#   BENCH_SERVER_THREADS  certdeskd server.threads (default 4 x nproc: its handlers block their thread, and
#                         a keep-alive connection stays on the thread that took it); BENCH_NGINX_WORKERS
#                         nginx worker_processes (default nproc: its workers never block)
#   BENCH_BURST           organisations in the burst (default 1000); BENCH_BURST_CLIENTS (16)
#   BENCH_IDLE            idle connections (default 1000)
#   BENCH_LOGIN_SECONDS   (default 10)
#   BENCH_PG_CONNINFO     a PostgreSQL server (e.g. "host=127.0.0.1 port=5433 user=postgres dbname=postgres"):
#                         the order row is also measured on a second certdeskd on a fresh database
#                         there (created and dropped by the script); unset: SQLite only
#   BENCH_NOTE            a line printed under the table (e.g. "busy machine: 7 other builds")
#   BENCH_DOC             the Markdown file the table goes to (default docs/performance.md; "" none)
#   BENCH_WAIT_IDLE       wait up to this many seconds for the CPUs to be idle first (default 0)
#   BENCH_PERF            1: `perf record -g` certdeskd during each of its wrk runs; the top of each
#                         profile goes to BENCH_RESULTS_DIR/<time>-perf-<row>.txt (default 0)
#   BENCH_RESULTS_DIR     default bench/results
#   BENCH_KEEP_LOGS       a directory: certdeskd's access log, stdout and stderr are copied there at the end
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/.." && pwd)
. "$here/lib.sh"

build_dir=${BUILD_DIR:-$root/build}
rows=${BENCH_ROWS:-order queue upload forms idle login burst}
duration=${BENCH_DURATION:-10s}
warmup=${BENCH_WARMUP:-2s}
connections=${BENCH_CONNECTIONS:-64}
upload_connections=${BENCH_UPLOAD_CONNECTIONS:-8}
wrk_threads=${BENCH_THREADS:-2}
server_threads=${BENCH_SERVER_THREADS:-$((4 * $(nproc)))}
nginx_workers=${BENCH_NGINX_WORKERS:-$(nproc)}
burst_n=${BENCH_BURST:-1000}
burst_clients=${BENCH_BURST_CLIENTS:-16}
idle_n=${BENCH_IDLE:-1000}
login_seconds=${BENCH_LOGIN_SECONDS:-10}
note=${BENCH_NOTE:-}
doc=${BENCH_DOC-$root/docs/performance.md}
wait_idle=${BENCH_WAIT_IDLE:-0}
results_dir=${BENCH_RESULTS_DIR:-$here/results}
with_perf=${BENCH_PERF:-0}
NGINX=${NGINX:-/usr/sbin/nginx}
WRK=${WRK:-wrk}

for v in connections upload_connections wrk_threads server_threads nginx_workers burst_n burst_clients idle_n login_seconds; do
	[[ ${!v} =~ ^[1-9][0-9]*$ ]] || die "$v must be a positive integer (got '${!v}')"
done
for r in $rows; do
	[[ $r =~ ^(order|queue|upload|forms|burst|idle|login)$ ]] || die "BENCH_ROWS: unknown row '$r'"
done
for tool in curl jq node sqlite3 cc "$WRK" "$NGINX"; do
	command -v "$tool" >/dev/null || die "'$tool' not found"
done
for b in certdeskd certdesk certdesk-sim certdesk-decode; do
	[[ -x $build_dir/$b ]] || die "$build_dir/$b not found; build: cmake -S . -B build -DCMAKE_BUILD_TYPE=Release && cmake --build build -j2 --target certdeskd certdesk certdesk-sim certdesk-decode"
done
build_type=$(sed -n 's/^CMAKE_BUILD_TYPE:[A-Z]*=//p' "$build_dir/CMakeCache.txt" 2>/dev/null || true)
[[ $build_type == Release || $build_type == RelWithDebInfo ]] ||
	log "WARNING: $build_dir is a '${build_type:-default}' build, not Release: numbers are not representative"
has_row() { [[ " $rows " == *" $1 "* ]]; }

# ---------------------------------------------------------------- temp dir and cleanup
tmp=$(mktemp -d "${TMPDIR:-/tmp}/certdesk-bench-all.XXXXXX")
pids=()
bg_pid=
cleanup() {
	local rc=$?
	trap - EXIT INT TERM
	set +e
	[[ -n $bg_pid ]] && kill -TERM "$bg_pid" 2>/dev/null && wait "$bg_pid" 2>/dev/null
	for pid in "${pids[@]}"; do
		stop_pid "$pid"
	done
	[[ -n ${pg_db:-} ]] && psql "$BENCH_PG_CONNINFO" -qc "DROP DATABASE IF EXISTS $pg_db" >/dev/null 2>&1
	if [[ -n ${BENCH_KEEP_LOGS:-} ]] && mkdir -p "$BENCH_KEEP_LOGS"; then
		cp "$tmp/server/access.log" "$tmp/server/stdout" "$tmp/server/stderr" "$BENCH_KEEP_LOGS/" 2>/dev/null
	fi
	rm -rf "$tmp"
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

mkdir -p "$tmp/bin" "$tmp/server/web" "$tmp/server/files" "$tmp/nginx/www" "$tmp/nginx/put" "$tmp/nginx/body"
for b in certdeskd certdesk certdesk-sim certdesk-decode; do
	cp "$build_dir/$b" "$tmp/bin/$b"
done
cc -O2 -o "$tmp/bin/argon2-ref" "$here/argon2-ref.c" -lsodium -lpthread || die "cannot build bench/argon2-ref.c (libsodium-dev)"
cc -O2 -o "$tmp/bin/mkjpeg" "$here/mkjpeg.c" -ljpeg || die "cannot build bench/mkjpeg.c (libjpeg-dev)"

# A port below the ephemeral range that nothing listens on now.
candidate_port() {
	local lo=20000 hi p i
	hi=$(awk '{print $1 - 1}' /proc/sys/net/ipv4/ip_local_port_range 2>/dev/null || echo 32767)
	for ((i = 0; i < 50; i++)); do
		p=$(shuf -i "$lo-$hi" -n 1)
		[[ -z $(ss -Htln "sport = :$p" 2>/dev/null) ]] && echo "$p" && return
	done
	die "no free port found"
}

# Only our CERTDESK_* settings, the same for the CLI, the simulator and the server.
for v in $(compgen -e); do
	[[ $v == CERTDESK_* ]] && unset "$v"
done
sim_port=$(candidate_port)
sim_base=http://127.0.0.1:$sim_port
# a known port: the payment providers' notifications are sent to server.public_url
server_port=$(candidate_port)
export CERTDESK_SERVER_PORT=$server_port CERTDESK_SERVER_LISTEN_ADDRESS=127.0.0.1 CERTDESK_SERVER_THREADS=$server_threads \
	CERTDESK_SERVER_SHUTDOWN_TIMEOUT_S=2 CERTDESK_SERVER_WEB_ROOT=$tmp/server/web \
	CERTDESK_SERVER_MAX_CONNECTIONS_PER_IP=0 CERTDESK_SERVER_MAX_CONNECTIONS=$((idle_n + connections + 200)) \
	CERTDESK_CALENDAR_DATA_DIR=$root/data/holidays-cn CERTDESK_DATABASE_BACKEND=sqlite \
	CERTDESK_DATABASE_SQLITE_PATH=$tmp/server/db.sqlite CERTDESK_FILES_DATA_DIR=$tmp/server/files \
	CERTDESK_LOG_ACCESS_LOG=$tmp/server/access.log CERTDESK_DEV_EXPOSE_OUTBOX=true CERTDESK_DEV_CAPTCHA_ANSWER=ABCDE \
	CERTDESK_SMS_PER_IP_HOUR=100000 \
	CERTDESK_SIGNER_KEYS_DIR=$tmp/ca-keys CERTDESK_SIGNER_SOCKET=$tmp/signer.sock CERTDESK_SIGNER_LOG=$tmp/signer.log \
	CERTDESK_KM_KEK_FILE=$tmp/km.kek \
	CERTDESK_SERVER_PUBLIC_URL=http://127.0.0.1:$server_port \
	CERTDESK_SIM_PORT=$sim_port CERTDESK_SIM_URL=$sim_base CERTDESK_SIM_SMTP_PORT=$(candidate_port) \
	CERTDESK_IDV_ENDPOINT=$sim_base/faceid CERTDESK_WXPAY_ENDPOINT=$sim_base/wxpay \
	CERTDESK_ALIPAY_GATEWAY=$sim_base/alipay/gateway.do CERTDESK_COURIER_SF_ENDPOINT=$sim_base/sf/std/service \
	CERTDESK_WXPAY_MERCHANT_KEY=$root/config/testkeys/wxpay-merchant.key \
	CERTDESK_WXPAY_PLATFORM_KEY=$root/config/testkeys/wxpay-platform.pub \
	CERTDESK_ALIPAY_APP_KEY=$root/config/testkeys/alipay-app.key \
	CERTDESK_ALIPAY_PUBLIC_KEY=$root/config/testkeys/alipay-gateway.pub \
	CERTDESK_SIM_WXPAY_MERCHANT_PUB=$root/config/testkeys/wxpay-merchant.pub \
	CERTDESK_SIM_WXPAY_PLATFORM_KEY=$root/config/testkeys/wxpay-platform.key \
	CERTDESK_SIM_ALIPAY_APP_PUB=$root/config/testkeys/alipay-app.pub \
	CERTDESK_SIM_ALIPAY_GATEWAY_KEY=$root/config/testkeys/alipay-gateway.key

# ---------------------------------------------------------------- certdesk-sim, certdeskd
log "temp dir $tmp"
"$tmp/bin/certdesk" init --demo >"$tmp/init.log" 2>&1 || die "certdesk init --demo failed: $(cat "$tmp/init.log")"
"$tmp/bin/certdesk-sim" >"$tmp/sim.out" 2>&1 </dev/null &
pids+=($!)
for ((i = 0; i < 200; i++)); do
	curl -fsS -o /dev/null "$sim_base/healthz" 2>/dev/null && break
	kill -0 "${pids[-1]}" 2>/dev/null || die "certdesk-sim exited: $(cat "$tmp/sim.out")"
	sleep 0.05
done
"$tmp/bin/certdeskd" >"$tmp/server/stdout" 2>"$tmp/server/stderr" </dev/null &
server_pid=$!
pids=("$server_pid" "${pids[@]}")
port=
for ((i = 0; i < 200; i++)); do
	port=$(sed -n 's|.* listening on http://127\.0\.0\.1:\([0-9][0-9]*\).*|\1|p' "$tmp/server/stdout" || true)
	[[ -n $port ]] && break
	kill -0 "$server_pid" 2>/dev/null || die "certdeskd exited at start-up: $(cat "$tmp/server/stderr")"
	sleep 0.05
done
[[ -n $port ]] || die "certdeskd did not report a port: $(cat "$tmp/server/stdout" "$tmp/server/stderr")"
base=http://127.0.0.1:$port
log "certdeskd on :$port (server.threads=$server_threads, access log on), certdesk-sim on :$sim_port"

# One organisation with a main key's order to read and 50 secondary ones for the producer's queue.
node "$here/all-load.mjs" setup "$base" "$tmp" 50 || die "setup through the API failed"
sqlite3 -cmd '.timeout 10000' "$tmp/server/db.sqlite" \
	"UPDATE orders SET state = 'producing', submitted_at = created_at WHERE order_no IN ($(sed "s/.*/'&'/" "$tmp/queue_orders" | paste -sd,))" ||
	die "could not move the queue's orders to producing"
order_no=$(cat "$tmp/order_no")
org_cookie=$(cat "$tmp/org_cookie")
org_csrf=$(cat "$tmp/org_csrf")
staff_cookie=$(cat "$tmp/staff_cookie")
order_path=/api/v1/orders/$order_no
queue_path=/api/v1/admin/queues/production
get_200() { # URL FILE COOKIE
	local code
	code=$(curl -sS -o "$2" -w '%{http_code}' -H "Cookie: $3" --max-time 30 "$1") || die "curl $1 failed"
	[[ $code == 200 ]] || die "GET $1 returned $code: $(head -c 300 "$2")"
}
get_200 "$base$order_path" "$tmp/nginx/www/order.json" "$org_cookie"
get_200 "$base$queue_path" "$tmp/nginx/www/queue.json" "$staff_cookie"
[[ $(jq '.items | length' "$tmp/nginx/www/queue.json") == 50 ]] || die "the production queue does not hold 50 orders"
jpeg_bytes=$("$tmp/bin/mkjpeg" "$tmp/upload.jpg" 1000000)
b=----certdeskbench
{
	printf -- '--%s\r\nContent-Disposition: form-data; name="file"; filename="licence.jpg"\r\nContent-Type: image/jpeg\r\n\r\n' "$b"
	cat "$tmp/upload.jpg"
	printf -- '\r\n--%s--\r\n' "$b"
} >"$tmp/upload.body"

# ---------------------------------------------------------------- nginx
nginx_port=$(candidate_port)
user_line=""
[[ $(id -u) == 0 ]] && user_line="user root;"
hdrs='add_header Cache-Control no-store always; add_header X-Content-Type-Options nosniff always; add_header Referrer-Policy same-origin always; add_header X-Frame-Options DENY always;'
cat >"$tmp/nginx/nginx.conf" <<EOF
# Generated by bench/all.sh; everything nginx writes stays under $tmp/nginx.
$user_line
daemon off;
worker_processes $nginx_workers;
pid $tmp/nginx/nginx.pid;
lock_file $tmp/nginx/nginx.lock;
error_log $tmp/nginx/error.log warn;
events { worker_connections $((idle_n + connections + 200)); }
http {
    access_log $tmp/nginx/access.log;
    client_body_temp_path $tmp/nginx/body;
    proxy_temp_path $tmp/nginx/proxy;
    fastcgi_temp_path $tmp/nginx/fastcgi;
    uwsgi_temp_path $tmp/nginx/uwsgi;
    scgi_temp_path $tmp/nginx/scgi;
    default_type application/json;
    charset utf-8;
    charset_types application/json;
    server_tokens off;
    etag off;
    keepalive_requests 100000000;
    open_file_cache max=16 inactive=60s;
    server {
        listen 127.0.0.1:$nginx_port;
        location = $order_path { alias $tmp/nginx/www/order.json; $hdrs }
        location = $queue_path { alias $tmp/nginx/www/queue.json; $hdrs }
        # the request body written to a file in full (temp file, then renamed), like an upload
        location /upload/ {
            alias $tmp/nginx/put/;
            dav_methods PUT;
            client_max_body_size 2m;
            client_body_buffer_size 16k;
        }
        location / { return 404; }
    }
}
EOF
"$NGINX" -p "$tmp/nginx/" -e "$tmp/nginx/error.log" -c "$tmp/nginx/nginx.conf" >"$tmp/nginx/stdout" 2>&1 </dev/null &
nginx_pid=$!
pids+=("$nginx_pid")
for ((i = 0; i < 200; i++)); do
	curl -fsS -o "$tmp/nginx/probe" "http://127.0.0.1:$nginx_port$order_path" 2>/dev/null && break
	kill -0 "$nginx_pid" 2>/dev/null || die "nginx exited: $(cat "$tmp/nginx/stdout" "$tmp/nginx/error.log")"
	sleep 0.05
done
cmp -s "$tmp/nginx/probe" "$tmp/nginx/www/order.json" || die "nginx does not serve the order's bytes"
ngx=http://127.0.0.1:$nginx_port

# ---------------------------------------------------------------- measuring
clk_tck=$(getconf CLK_TCK 2>/dev/null || echo 100)
cat >"$tmp/report.lua" <<'EOF'
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format('BENCH_JSON {"duration_us":%.0f,"requests":%.0f,"bytes":%.0f,"errors":{"connect":%.0f,"read":%.0f,"write":%.0f,"status":%.0f,"timeout":%.0f},"latency_us":{"mean":%.3f,"max":%.0f,"p50":%.0f,"p99":%.0f}}\n',
    summary.duration, summary.requests, summary.bytes, e.connect, e.read, e.write, e.status, e.timeout,
    latency.mean, latency.max, latency:percentile(50), latency:percentile(99)))
end
EOF
# The upload: the same multipart body each time except 32 bytes (a counter in the JPEG's comment).
cat >"$tmp/upload.lua" <<EOF
local f = assert(io.open("$tmp/upload.body", "rb"))
local body = f:read("*a")
f:close()
local at = assert(body:find("certdesk-bench:", 1, true)) + 15
local head, tail = body:sub(1, at - 1), body:sub(at + 32)
local n, id = 0, 0
local threads = {}
setup = function(thread) id = id + 1; thread:set("tid", id) end
request = function()
  n = n + 1
  return wrk.format("PUT", nil, nil, head .. string.format("%08d%024d", tid or 0, n) .. tail)
end
$(cat "$tmp/report.lua")
EOF
cat >"$tmp/forms.lua" <<EOF
local paths = {"$order_path/forms/application", "$order_path/forms/authorisation", "$order_path/forms/seal"}
local n = 0
request = function() n = n + 1; return wrk.format("GET", paths[n % 3 + 1]) end
$(cat "$tmp/report.lua")
EOF

# wrk_run NAME PID URL CONNECTIONS SCRIPT [HEADER...]: warm-up, then a measured run; leaves
# $tmp/res-NAME.json: requests/s, latency, server CPU per request, other processes' share.
wrk_run() {
	local name=$1 pid=$2 url=$3 conns=$4 script=$5 out=$tmp/wrk-$1.txt
	shift 5
	local -a h=()
	local x
	for x in "$@"; do h+=(-H "$x"); done
	"$WRK" -t "$wrk_threads" -c "$conns" -d "$warmup" -s "$script" "${h[@]}" "$url" >/dev/null 2>&1 || true
	local -a sys0 sys1
	local s0 s1 k0 k1
	read -ra sys0 <<<"$(system_ticks)"
	s0=$(proc_ticks "$pid" $(pgrep -P "$pid" 2>/dev/null || true))
	k0=$(children_ticks)
	local perf_pid=
	if [[ $with_perf == 1 && $pid == "$server_pid" ]]; then
		perf record -q -g -F 499 -o "$tmp/perf-$name.data" -p "$pid" >"$tmp/perf-$name.log" 2>&1 &
		perf_pid=$!
	fi
	"$WRK" --latency -t "$wrk_threads" -c "$conns" -d "$duration" -s "$script" "${h[@]}" "$url" >"$out" 2>&1 </dev/null &
	bg_pid=$!
	wait "$bg_pid" || die "wrk failed against $url: $(cat "$out")"
	bg_pid=
	if [[ -n $perf_pid ]]; then
		kill -INT "$perf_pid" 2>/dev/null
		wait "$perf_pid" 2>/dev/null || true
		mkdir -p "$results_dir"
		{
			perf report -i "$tmp/perf-$name.data" --no-children --sort dso --stdio 2>/dev/null | grep '%' | grep -v '^#' | head -n 12
			echo
			perf report -i "$tmp/perf-$name.data" --no-children --sort dso,symbol --stdio -g none 2>/dev/null | grep '%' | grep -v '^#' | head -n 40
			echo
			perf report -i "$tmp/perf-$name.data" --children --sort symbol --stdio -g none 2>/dev/null | grep '%' | grep -v '^#' | head -n 60
		} >"$results_dir/$(date -u +%Y-%m-%dT%H%M%SZ)-perf-$name.txt" || true
	fi
	k1=$(children_ticks)
	s1=$(proc_ticks "$pid" $(pgrep -P "$pid" 2>/dev/null || true))
	read -ra sys1 <<<"$(system_ticks)"
	grep -q '^BENCH_JSON ' "$out" || die "wrk printed no summary for $url: $(cat "$out")"
	if grep -q 'Non-2xx or 3xx responses\|Socket errors' "$out"; then
		die "$name: wrk saw errors: $(grep -A1 'Non-2xx\|Socket errors' "$out"); server: $(tail -n 3 "$tmp/server/stderr")"
	fi
	sed -n 's/^BENCH_JSON //p' "$out" | jq -c --arg name "$name" --argjson hz "$clk_tck" \
		--argjson srv $((s1 - s0)) --argjson wrk $((k1 - k0)) \
		--argjson total $((sys1[0] - sys0[0])) --argjson idle $((sys1[1] - sys0[1])) \
		'{name: $name, requests_per_s: (.requests / .duration_us * 1e6), requests: .requests,
		  latency_p50_ms: (.latency_us.p50 / 1000), latency_p99_ms: (.latency_us.p99 / 1000),
		  bytes_per_response: (if .requests > 0 then .bytes / .requests else 0 end),
		  server_cpu_us_per_request: (if .requests > 0 then $srv / $hz * 1e6 / .requests else null end),
		  other_pct: (if $total > 0 then ([$total - $idle - $srv - $wrk, 0] | max) * 100 / $total else null end)}' \
		>"$tmp/res-$name.json"
	log "$name: $(jq -r '"\(.requests_per_s | floor) req/s, p99 \(.latency_p99_ms) ms, \(.server_cpu_us_per_request | floor) us server CPU/req, other \(.other_pct | floor)%"' "$tmp/res-$name.json")"
}
rss_kb() { awk '/^VmRSS/ {print $2}' "/proc/$1/status"; }

wait_for_idle
busy_before=$busy
loadavg_before=$(cut -d' ' -f1-3 /proc/loadavg)
((busy_before <= 10)) || log "WARNING: the CPUs were ${busy_before}% busy before the run (load $loadavg_before): numbers skewed"
started=$(date -u +%Y-%m-%dT%H:%M:%SZ)
rows_json='{}'
add_row() { rows_json=$(jq -c --arg k "$1" --argjson v "$2" '. + {($k): $v}' <<<"$rows_json"); }

if has_row order; then
	wrk_run order-certdeskd "$server_pid" "$base$order_path" "$connections" "$tmp/report.lua" "Cookie: $org_cookie"
	wrk_run order-nginx "$nginx_pid" "$ngx$order_path" "$connections" "$tmp/report.lua"
	add_row order "$(jq -sc '{certdeskd: .[0], reference: .[1], ratio: (.[0].requests_per_s / .[1].requests_per_s)}' "$tmp/res-order-certdeskd.json" "$tmp/res-order-nginx.json")"
fi
if has_row order && [[ -n ${BENCH_PG_CONNINFO:-} ]]; then
	# the same row on PostgreSQL: a second certdeskd on a fresh database, its own organisation
	command -v psql >/dev/null || die "'psql' not found (BENCH_PG_CONNINFO)"
	pg_db=certdesk_bench_$$
	psql "$BENCH_PG_CONNINFO" -qc "CREATE DATABASE $pg_db" >/dev/null || die "cannot create database $pg_db"
	pg_port=$(candidate_port)
	mkdir -p "$tmp/pg/files"
	(
		export CERTDESK_DATABASE_BACKEND=postgres CERTDESK_DATABASE_POSTGRES_CONNINFO="$BENCH_PG_CONNINFO dbname=$pg_db" \
			CERTDESK_SERVER_PORT=$pg_port CERTDESK_SERVER_PUBLIC_URL=http://127.0.0.1:$pg_port \
			CERTDESK_FILES_DATA_DIR=$tmp/pg/files CERTDESK_LOG_ACCESS_LOG=$tmp/pg/access.log \
			CERTDESK_SIGNER_KEYS_DIR=$tmp/pg/ca-keys CERTDESK_KM_KEK_FILE=$tmp/pg/km.kek
		"$tmp/bin/certdesk" init --demo >"$tmp/pg/init.log" 2>&1 || exit 1
		exec "$tmp/bin/certdeskd" >"$tmp/pg/stdout" 2>"$tmp/pg/stderr" </dev/null
	) &
	pg_pid=$!
	pids=("$pg_pid" "${pids[@]}")
	for ((i = 0; i < 300; i++)); do
		curl -fsS -o /dev/null "http://127.0.0.1:$pg_port/healthz" 2>/dev/null && break
		kill -0 "$pg_pid" 2>/dev/null || die "certdeskd on PostgreSQL exited: $(cat "$tmp/pg/init.log" "$tmp/pg/stderr" 2>/dev/null)"
		sleep 0.1
	done
	node "$here/all-load.mjs" setup "http://127.0.0.1:$pg_port" "$tmp/pg" 1 || die "setup on PostgreSQL failed"
	pg_path=/api/v1/orders/$(cat "$tmp/pg/order_no")
	get_200 "http://127.0.0.1:$pg_port$pg_path" "$tmp/pg/order.json" "$(cat "$tmp/pg/org_cookie")"
	wrk_run order-postgres "$pg_pid" "http://127.0.0.1:$pg_port$pg_path" "$connections" "$tmp/report.lua" \
		"Cookie: $(cat "$tmp/pg/org_cookie")"
	# the reference is nginx's run on the SQLite instance's bytes (within a few bytes of these)
	add_row order_pg "$(jq -sc '{certdeskd: .[0], reference: .[1], ratio: (.[0].requests_per_s / .[1].requests_per_s)}' \
		"$tmp/res-order-postgres.json" "$tmp/res-order-nginx.json")"
	stop_pid "$pg_pid"
	pids=("${pids[@]:1}")
fi
if has_row queue; then
	wrk_run queue-certdeskd "$server_pid" "$base$queue_path" "$connections" "$tmp/report.lua" "Cookie: $staff_cookie"
	wrk_run queue-nginx "$nginx_pid" "$ngx$queue_path" "$connections" "$tmp/report.lua"
	add_row queue "$(jq -sc '{certdeskd: .[0], reference: .[1], ratio: (.[0].requests_per_s / .[1].requests_per_s)}' "$tmp/res-queue-certdeskd.json" "$tmp/res-queue-nginx.json")"
fi
if has_row upload; then
	wrk_run upload-certdeskd "$server_pid" "$base$order_path/documents/business_licence" "$upload_connections" "$tmp/upload.lua" \
		"Cookie: $org_cookie" "X-CSRF-Token: $org_csrf" "Content-Type: multipart/form-data; boundary=$b"
	wrk_run upload-nginx "$nginx_pid" "$ngx/upload/licence.jpg" "$upload_connections" "$tmp/upload.lua" \
		"Content-Type: multipart/form-data; boundary=$b"
	add_row upload "$(jq -sc --argjson jpeg "$jpeg_bytes" --argjson body "$(stat -c %s "$tmp/upload.body")" \
		'{jpeg_bytes: $jpeg, body_bytes: $body, certdeskd: .[0], reference: .[1], ratio: (.[0].requests_per_s / .[1].requests_per_s)}' \
		"$tmp/res-upload-certdeskd.json" "$tmp/res-upload-nginx.json")"
fi
if has_row forms; then
	# each form's own time, warm: the median of 9 sequential requests after one
	declare -A form_ms
	for k in application authorisation seal; do
		for ((i = 0; i < 10; i++)); do
			curl -fsS -o /dev/null -w '%{time_total}\n' -H "Cookie: $org_cookie" "$base$order_path/forms/$k"
		done | tail -n 9 | sort -n | sed -n 5p >"$tmp/form-$k.txt" || die "GET the $k form failed"
		form_ms[$k]=$(awk '{printf "%.1f", $1 * 1000}' "$tmp/form-$k.txt")
	done
	wrk_run forms-certdeskd "$server_pid" "$base" "$(nproc)" "$tmp/forms.lua" "Cookie: $org_cookie"
	add_row forms "$(jq -c --argjson a "${form_ms[application]}" --argjson l "${form_ms[authorisation]}" --argjson s "${form_ms[seal]}" \
		'{certdeskd: ., each_ms: {application: $a, authorisation: $l, seal: $s}}' "$tmp/res-forms-certdeskd.json")"
fi
if has_row idle; then
	rss0=$(rss_kb "$server_pid")
	wrk_run idle-without "$server_pid" "$base/api/v1/meta" "$connections" "$tmp/report.lua"
	coproc IDLE { node "$here/all-load.mjs" idle "$base" "$idle_n" 2>&1; }
	idle_pid=$IDLE_PID
	read -r -t 300 ready <&"${IDLE[0]}" || die "the idle connections did not open"
	[[ $ready == "ready $idle_n" ]] || die "idle connections: $ready"
	sleep 1
	rss1=$(rss_kb "$server_pid")
	wrk_run idle-with "$server_pid" "$base/api/v1/meta" "$connections" "$tmp/report.lua"
	rss2=$(rss_kb "$server_pid")
	exec {IDLE[1]}>&-
	wait "$idle_pid" 2>/dev/null || true
	add_row idle "$(jq -sc --argjson n "$idle_n" --argjson rss0 "$rss0" --argjson rss1 "$rss1" --argjson rss2 "$rss2" \
		'{connections: $n, rss_kb_before: $rss0, rss_kb_idle: $rss1, rss_kb_idle_under_load: $rss2,
		  without: .[0], with: .[1], ratio: (.[1].requests_per_s / .[0].requests_per_s)}' \
		"$tmp/res-idle-without.json" "$tmp/res-idle-with.json")"
	log "idle: RSS $rss0 kB before, $rss1 kB with $idle_n idle connections, $rss2 kB after wrk beside them"
fi
if has_row login; then
	clients=$((2 * $(nproc)))
	s0=$(proc_ticks "$server_pid")
	node "$here/all-load.mjs" login "$base" "$login_seconds" "$clients" >"$tmp/login.json" || die "the login run failed"
	s1=$(proc_ticks "$server_pid")
	"$tmp/bin/argon2-ref" "$(nproc)" "$login_seconds" >"$tmp/argon2.json" || die "argon2-ref failed"
	add_row login "$(jq -sc --argjson hz "$clk_tck" --argjson srv $((s1 - s0)) \
		'{certdeskd: (.[0] + {server_cpu_ms_per_login: ($srv / $hz * 1000 / ([.[0].logins, 1] | max))}), reference: .[1],
		  ratio: (.[0].per_s / .[1].per_s)}' "$tmp/login.json" "$tmp/argon2.json")"
	log "login: $(jq -r '"\(.per_s) logins/s"' "$tmp/login.json"), argon2id alone: $(jq -r '"\(.per_s)/s"' "$tmp/argon2.json")"
fi
if has_row burst; then
	"$tmp/bin/mkjpeg" "$tmp/scan.jpg" 200000 >/dev/null
	log "burst: $burst_n organisations, $burst_clients in flight"
	node "$here/all-load.mjs" burst "$base" "$sim_base" "$burst_n" "$burst_clients" "$tmp/scan.jpg" "$tmp/server/db.sqlite" \
		>"$tmp/burst.json" || die "the burst failed: $(cat "$tmp/burst.json")"
	add_row burst "$(cat "$tmp/burst.json")"
fi
lines=$(wc -l <"$tmp/server/access.log")

# ---------------------------------------------------------------- report
cpu_model=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)
git_rev=$(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo unknown)
[[ -n $(git --no-optional-locks -C "$root" status --porcelain -- src 2>/dev/null) ]] && git_rev+="-dirty"
stamp=$(date -u +%Y-%m-%dT%H%M%SZ)
result=$(jq -n --arg date "$started" --arg cpu "$cpu_model" --arg kernel "$(uname -r)" --arg nproc "$(nproc)" \
	--arg load "$loadavg_before" --argjson busy "$busy_before" --arg git "$git_rev" --arg build "$build_type" \
	--arg nginx "$("$NGINX" -v 2>&1 | sed 's/^nginx version: //')" --arg note "$note" --argjson lines "$lines" \
	--arg params "duration $duration, warm-up $warmup, $connections connections ($upload_connections for the upload), $wrk_threads wrk threads, server.threads = $server_threads, nginx workers = $nginx_workers" \
	--argjson rows "$rows_json" \
	'{benchmark: "all", date: $date, machine: {cpu: $cpu, nproc: ($nproc | tonumber), kernel: $kernel, loadavg_before: $load,
	  cpu_busy_before_pct: $busy}, certdesk_git: $git, build_type: $build, nginx: $nginx, parameters: $params, note: $note,
	  access_log_lines: $lines, rows: $rows}')
mkdir -p "$results_dir"
out_file=$results_dir/$stamp-all.json
jq . <<<"$result" >"$out_file"

table=$(jq -r '
  def f(n; d): if n == null then "–" else (n * pow(10; d) | round / pow(10; d) | tostring) end;
  def ok(c): if c then "yes" else "**no**" end;
  .rows as $r |
  "Run \(.date) on \(.machine.nproc) × \(.machine.cpu), Linux \(.machine.kernel); load average before \(.machine.loadavg_before), CPUs \(.machine.cpu_busy_before_pct) % busy before\(if .machine.cpu_busy_before_pct > 10 then " — **a busy machine: the numbers are skewed**" else "" end). certdesk \(.certdesk_git) (\(.build_type)), \(.nginx); \(.parameters). Access log on for certdeskd and nginx (\(.access_log_lines) lines written by certdeskd).\(if .note != "" then " " + .note else "" end)",
  "",
  "| what | certdesk | reference (same run) | ratio | target | met |",
  "|---|---|---|---|---|---|",
  (if $r.order then "| order-detail GET (SQLite, \(f($r.order.certdeskd.bytes_per_response; 0)) B/resp) | \(f($r.order.certdeskd.requests_per_s; 0)) req/s, p99 \(f($r.order.certdeskd.latency_p99_ms; 1)) ms, \(f($r.order.certdeskd.server_cpu_us_per_request; 1)) µs CPU/req | nginx \(f($r.order.reference.requests_per_s; 0)) req/s, \(f($r.order.reference.server_cpu_us_per_request; 1)) µs CPU/req | \(f($r.order.ratio; 2)) | ≥ 1.0 | \(ok($r.order.ratio >= 1.0)) |" else empty end),
  (if $r.order_pg then "| order-detail GET (PostgreSQL, \(f($r.order_pg.certdeskd.bytes_per_response; 0)) B/resp) | \(f($r.order_pg.certdeskd.requests_per_s; 0)) req/s, p99 \(f($r.order_pg.certdeskd.latency_p99_ms; 1)) ms, \(f($r.order_pg.certdeskd.server_cpu_us_per_request; 1)) µs certdeskd CPU/req (PostgreSQL itself not counted) | nginx \(f($r.order_pg.reference.requests_per_s; 0)) req/s (the run above) | \(f($r.order_pg.ratio; 2)) | ≥ 0.7 | \(ok($r.order_pg.ratio >= 0.7)) |" else empty end),
  (if $r.queue then "| staff queue page, 50 orders (\(f($r.queue.certdeskd.bytes_per_response; 0)) B/resp) | \(f($r.queue.certdeskd.requests_per_s; 0)) req/s, p99 \(f($r.queue.certdeskd.latency_p99_ms; 1)) ms, \(f($r.queue.certdeskd.server_cpu_us_per_request; 1)) µs CPU/req | nginx \(f($r.queue.reference.requests_per_s; 0)) req/s | \(f($r.queue.ratio; 2)) | ≥ 0.7 | \(ok($r.queue.ratio >= 0.7)) |" else empty end),
  (if $r.upload then "| \(f($r.upload.jpeg_bytes / 1e6; 2)) MB JPEG upload, decoded and stored (fsync) | \(f($r.upload.certdeskd.requests_per_s; 1)) uploads/s, p99 \(f($r.upload.certdeskd.latency_p99_ms; 0)) ms, \(f($r.upload.certdeskd.server_cpu_us_per_request / 1000; 1)) ms CPU each | nginx WebDAV PUT to disk \(f($r.upload.reference.requests_per_s; 1))/s | \(f($r.upload.ratio; 2)) | ≥ 0.5 | \(ok($r.upload.ratio >= 0.5)) |" else empty end),
  (if $r.forms then "| the three PDF forms, warm | \(f($r.forms.certdeskd.requests_per_s; 1)) forms/s (\(.machine.nproc) clients); each alone: application \($r.forms.each_ms.application) ms, authorisation \($r.forms.each_ms.authorisation) ms, seal \($r.forms.each_ms.seal) ms | — | — | ≥ 60/s, ≤ 30 ms each | \(ok($r.forms.certdeskd.requests_per_s >= 60 and ([$r.forms.each_ms[]] | max) <= 30)) |" else empty end),
  (if $r.burst then "| burst of \($r.burst.organisations) new organisations (register → order → 5 uploads → verify → submit → pass → pay) | \($r.burst.requests) requests in \(f($r.burst.seconds; 1)) s, \($r.burst.flows_failed) flows failed, p99 \(f($r.burst.latency_ms.p99; 0)) ms (p50 \(f($r.burst.latency_ms.p50; 0)) ms); orders: \($r.burst.order_states | to_entries | map("\(.key) \(.value)") | join(", ")) | — | — | 0 errors, p99 < 200 ms | \(ok($r.burst.flows_failed == 0 and $r.burst.latency_ms.p99 < 200)) |" else empty end),
  (if $r.idle then "| \($r.idle.connections) idle keep-alive connections | RSS \(f($r.idle.rss_kb_idle / 1024; 1)) MB (\(f($r.idle.rss_kb_before / 1024; 1)) MB before, \(f($r.idle.rss_kb_idle_under_load / 1024; 1)) MB after load beside them); meta \(f($r.idle.with.requests_per_s; 0)) req/s beside them | meta \(f($r.idle.without.requests_per_s; 0)) req/s without them | \(f($r.idle.ratio; 2)) | RSS < 64 MB, full speed | \(ok($r.idle.rss_kb_idle_under_load < 65536 and $r.idle.ratio >= 0.9)) |" else empty end),
  (if $r.login then "| login (Argon2id, opslimit \($r.login.reference.opslimit), memlimit \($r.login.reference.memlimit_bytes / 1048576) MiB, p=1) | \(f($r.login.certdeskd.per_s; 2)) logins/s (\($r.login.certdeskd.logins) in \(f($r.login.certdeskd.seconds; 0)) s), POST p50 \(f($r.login.certdeskd.login_post_ms.p50; 0)) ms | Argon2id verify alone in C, \($r.login.reference.threads) threads: \(f($r.login.reference.per_s; 2))/s | \(f($r.login.ratio; 2)) | ≥ 0.9 | \(ok($r.login.ratio >= 0.9)) |" else empty end)
' <<<"$result")

echo "$table"
echo
echo "results: ${out_file#"$root"/}"
if [[ -n $doc ]]; then
	mkdir -p "$(dirname "$doc")"
	[[ -f $doc ]] || printf '# Performance\n\n<!-- bench/all.sh:begin -->\n<!-- bench/all.sh:end -->\n' >"$doc"
	grep -q '<!-- bench/all.sh:begin -->' "$doc" || printf '\n<!-- bench/all.sh:begin -->\n<!-- bench/all.sh:end -->\n' >>"$doc"
	# the latest run replaces the previous one between the markers; the rest of the file is prose
	TABLE="$table"$'\n\n'"Command: \`bench/all.sh\` ($(basename "$out_file"))." \
		python3 - "$doc" <<'EOF'
import os, re, sys
p = sys.argv[1]
t = open(p).read()
new = "<!-- bench/all.sh:begin -->\n" + os.environ["TABLE"] + "\n<!-- bench/all.sh:end -->"
t = re.sub(r"<!-- bench/all.sh:begin -->.*?<!-- bench/all.sh:end -->", lambda m: new, t, flags=re.S)
open(p, "w").write(t)
EOF
	log "table written to ${doc#"$root"/}"
fi
