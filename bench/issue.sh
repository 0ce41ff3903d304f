#!/usr/bin/env bash
# bench/issue.sh: the CA engine (issue 12), measured against references taken in the same run on the
# same machine. See bench/README.md.
#
# 1. Issuance: certificates issued per second through certdesk's real path — POST
#    /api/v1/admin/orders/{order_no}/certificates as the producer, with CSRs made beforehand (one new
#    key and one order each), BENCH_CLIENTS requests in flight — for RSA-2048, P-256 and SM2, with
#    certdeskd and certdesk-signer on SQLite; next to `openssl speed -multi <nproc>` signing with the
#    same algorithms (the machine's sign rate on all its cores).
# 2. OCSP: responses per second for one issued certificate, served from the pre-signed store (GET
#    /ocsp/<base64> and POST /ocsp with wrk), next to nginx serving the same response bytes as a file.
#
# Environment (all optional):
#   BUILD_DIR             where certdeskd, certdesk and certdesk-signer are (default <repo>/build;
#                         build it as Release: cmake -S . -B build -DCMAKE_BUILD_TYPE=Release); the
#                         binaries are copied to the temp dir first
#   BENCH_ALGS            default "rsa2048 p256 sm2"
#   BENCH_ISSUE_COUNT     certificates per algorithm (default 400)
#   BENCH_CLIENTS         issuance requests in flight (default 8)
#   BENCH_SERVER_THREADS  certdeskd server.threads (default: nproc)
#   BENCH_SPEED_SECONDS   openssl speed -seconds (default 3)
#   BENCH_DURATION, BENCH_WARMUP, BENCH_CONNECTIONS, BENCH_THREADS
#                         the OCSP wrk runs (default 10s, 2s, 64, 2)
#   BENCH_OCSP_ALG        whose certificate the OCSP runs ask about (default p256)
#   BENCH_PERF            1: also `perf record -g` certdeskd and the signer during the issuance of the
#                         first algorithm, and print the top of each profile (default 0)
#   BENCH_WAIT_IDLE       wait up to this many seconds for the CPUs to be idle first (default 0)
#   BENCH_RESULTS_DIR     default bench/results
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/.." && pwd)
. "$here/lib.sh"

build_dir=${BUILD_DIR:-$root/build}
algs=${BENCH_ALGS:-rsa2048 p256 sm2}
count=${BENCH_ISSUE_COUNT:-400}
clients=${BENCH_CLIENTS:-8}
server_threads=${BENCH_SERVER_THREADS:-$(nproc)}
speed_seconds=${BENCH_SPEED_SECONDS:-3}
duration=${BENCH_DURATION:-10s}
warmup=${BENCH_WARMUP:-2s}
connections=${BENCH_CONNECTIONS:-64}
wrk_threads=${BENCH_THREADS:-2}
ocsp_alg=${BENCH_OCSP_ALG:-p256}
with_perf=${BENCH_PERF:-0}
wait_idle=${BENCH_WAIT_IDLE:-0}
results_dir=${BENCH_RESULTS_DIR:-$here/results}
NGINX=${NGINX:-/usr/sbin/nginx}

for v in count clients server_threads speed_seconds connections wrk_threads; do
	[[ ${!v} =~ ^[1-9][0-9]*$ ]] || die "$v must be a positive integer (got '${!v}')"
done
for a in $algs; do
	[[ $a =~ ^(rsa2048|p256|sm2)$ ]] || die "BENCH_ALGS: unknown algorithm '$a' (rsa2048 p256 sm2)"
done
[[ " $algs " == *" $ocsp_alg "* ]] || die "BENCH_OCSP_ALG ($ocsp_alg) must be one of BENCH_ALGS ($algs)"
for tool in curl jq node openssl sqlite3 wrk xargs "$NGINX"; do
	command -v "$tool" >/dev/null || die "'$tool' not found"
done
for b in certdeskd certdesk certdesk-signer; do
	[[ -x $build_dir/$b ]] || die "$build_dir/$b not found; build: cmake -S . -B build -DCMAKE_BUILD_TYPE=Release && cmake --build build -j2 --target certdeskd certdesk certdesk-signer"
done
build_type=$(sed -n 's/^CMAKE_BUILD_TYPE:[A-Z]*=//p' "$build_dir/CMakeCache.txt" 2>/dev/null || true)
sanitized=$(sed -n 's/^CERTDESK_SANITIZE:[A-Z]*=//p' "$build_dir/CMakeCache.txt" 2>/dev/null || true)
[[ $build_type == Release || $build_type == RelWithDebInfo ]] ||
	log "WARNING: $build_dir is a '${build_type:-default}' build, not Release: numbers are not representative"
[[ $sanitized != ON ]] || log "WARNING: $build_dir is built with sanitizers: numbers are not representative"

# ---------------------------------------------------------------- temp dir and cleanup
tmp=$(mktemp -d "${TMPDIR:-/tmp}/certdesk-bench-issue.XXXXXX")
pids=()
wrk_pid=
cleanup() {
	local rc=$?
	trap - EXIT INT TERM
	set +e
	[[ -n $wrk_pid ]] && kill -TERM "$wrk_pid" 2>/dev/null && wait "$wrk_pid" 2>/dev/null
	# certdeskd first, then the signer it calls, then nginx
	for pid in "${pids[@]}"; do
		stop_pid "$pid"
	done
	rm -rf "$tmp"
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

mkdir -p "$tmp/bin" "$tmp/server/web" "$tmp/server/files"
for b in certdeskd certdesk certdesk-signer; do
	cp "$build_dir/$b" "$tmp/bin/$b"
done

# Only our CERTDESK_* settings (certdeskd refuses unknown ones), the same for the CLI, the signer
# and the server. All load comes from 127.0.0.1: no per-IP connection cap (nginx has none either).
for v in $(compgen -e); do
	[[ $v == CERTDESK_* ]] && unset "$v"
done
export CERTDESK_SERVER_PORT=0 CERTDESK_SERVER_LISTEN_ADDRESS=127.0.0.1 CERTDESK_SERVER_THREADS=$server_threads \
	CERTDESK_SERVER_SHUTDOWN_TIMEOUT_S=2 CERTDESK_SERVER_WEB_ROOT=$tmp/server/web CERTDESK_SERVER_MAX_CONNECTIONS_PER_IP=0 \
	CERTDESK_CALENDAR_DATA_DIR=$root/data/holidays-cn CERTDESK_DATABASE_BACKEND=sqlite \
	CERTDESK_DATABASE_SQLITE_PATH=$tmp/server/db.sqlite CERTDESK_FILES_DATA_DIR=$tmp/server/files \
	CERTDESK_LOG_ACCESS_LOG="" CERTDESK_DEV_EXPOSE_OUTBOX=true CERTDESK_DEV_CAPTCHA_ANSWER=ABCDE \
	CERTDESK_SIGNER_KEYS_DIR=$tmp/ca-keys CERTDESK_SIGNER_SOCKET=$tmp/signer.sock CERTDESK_SIGNER_LOG=$tmp/signer.log \
	CERTDESK_WXPAY_MERCHANT_KEY=$root/config/testkeys/wxpay-merchant.key \
	CERTDESK_WXPAY_PLATFORM_KEY=$root/config/testkeys/wxpay-platform.pub \
	CERTDESK_ALIPAY_APP_KEY=$root/config/testkeys/alipay-app.key \
	CERTDESK_ALIPAY_PUBLIC_KEY=$root/config/testkeys/alipay-gateway.pub

# ---------------------------------------------------------------- CSRs (before anything is timed)
log "temp dir $tmp; making $count CSRs per algorithm ($algs) with openssl"
make_csr() { # ALG FILE: a new key's CSR (the key is thrown away)
	case $1 in
	rsa2048) openssl req -new -newkey rsa:2048 -nodes -keyout /dev/null -subj /CN=bench -out "$2" 2>/dev/null ;;
	p256) openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout /dev/null -subj /CN=bench -out "$2" 2>/dev/null ;;
	sm2) openssl req -new -newkey SM2 -nodes -keyout /dev/null -sm3 -sigopt distid:1234567812345678 -subj /CN=bench -out "$2" 2>/dev/null ;;
	esac
}
export -f make_csr
for a in $algs; do
	mkdir -p "$tmp/csr/$a"
	seq "$count" | xargs -P "$(nproc)" -I{} bash -c "make_csr $a $tmp/csr/$a/{}.pem" ||
		die "openssl could not make $a CSRs"
done

# ---------------------------------------------------------------- the CA, the signer, certdeskd
"$tmp/bin/certdesk" init --demo >"$tmp/init.log" 2>&1 || die "certdesk init --demo failed: $(cat "$tmp/init.log")"
"$tmp/bin/certdesk-signer" >"$tmp/signer.out" 2>&1 </dev/null &
signer_pid=$!
for ((i = 0; i < 200; i++)); do
	grep -q 'listening on' "$tmp/signer.out" && break
	kill -0 "$signer_pid" 2>/dev/null || die "certdesk-signer exited: $(cat "$tmp/signer.out")"
	sleep 0.05
done
grep -q 'listening on' "$tmp/signer.out" || die "certdesk-signer did not start: $(cat "$tmp/signer.out")"
"$tmp/bin/certdeskd" >"$tmp/server/stdout" 2>"$tmp/server/stderr" </dev/null &
server_pid=$!
pids=("$server_pid" "$signer_pid")
port=
for ((i = 0; i < 200; i++)); do
	port=$(sed -n 's|.* listening on http://127\.0\.0\.1:\([0-9][0-9]*\).*|\1|p' "$tmp/server/stdout" || true)
	[[ -n $port ]] && break
	kill -0 "$server_pid" 2>/dev/null || die "certdeskd exited at start-up: $(cat "$tmp/server/stderr")"
	sleep 0.05
done
[[ -n $port ]] || die "certdeskd did not report a port: $(cat "$tmp/server/stdout" "$tmp/server/stderr")"
base=http://127.0.0.1:$port
log "certdeskd on :$port (server.threads=$server_threads), certdesk-signer on $tmp/signer.sock"

# One organisation's orders, all moved to producing (payment and paper checks are other steps').
total=$((count * $(wc -w <<<"$algs")))
node "$here/issue-load.mjs" orders "$base" "$total" "$tmp/orders.txt" || die "could not create the orders"
sqlite3 -cmd '.timeout 10000' "$tmp/server/db.sqlite" \
	"UPDATE orders SET state = 'producing', submitted_at = created_at" || die "could not move the orders to producing"
n=0
for a in $algs; do
	sed -n "$((n * count + 1)),$(((n + 1) * count))p" "$tmp/orders.txt" >"$tmp/orders-$a.txt"
	n=$((n + 1))
done

wait_for_idle
busy_before=$busy
loadavg_before=$(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null || echo unknown)
((busy_before <= 10)) || log "WARNING: the CPUs were ${busy_before}% busy before the run; numbers skewed"
clk_tck=$(getconf CLK_TCK 2>/dev/null || echo 100)

# ---------------------------------------------------------------- issuance
# wait_published: until the publishing job (every 30 s in certdeskd) has pre-signed an OCSP response
# for every certificate, so that its signing does not fall into the next measurement.
q() { sqlite3 -cmd '.timeout 10000' "$tmp/server/db.sqlite" "$1"; }
wait_published() {
	local i
	for ((i = 0; i < 300; i++)); do
		(($(q 'SELECT count(*) FROM certificates') == $(q 'SELECT count(*) FROM ocsp_responses'))) && return
		sleep 1
	done
	die "the publishing job did not pre-sign the OCSP responses within 300 s"
}
# kinds FROM: "kind_name:count ..." of the signer's log lines after line FROM.
kinds() { tail -n "+$(($1 + 1))" "$tmp/signer.log" | jq -r '.kind_name' | sort | uniq -c | awk '{printf "%s%s:%s", (NR > 1 ? " " : ""), $2, $1}'; }
perf_pid=
for a in $algs; do
	log "$a: waiting for the OCSP pre-signing of the certificates so far"
	wait_published
	lines0=$(wc -l <"$tmp/signer.log")
	log "$a: issuing $count certificates, $clients in flight"
	if [[ $with_perf == 1 && -z $perf_pid ]] && command -v perf >/dev/null; then
		perf record -q -F 999 -o "$tmp/perf-$a.data" -p "$server_pid,$signer_pid" >"$tmp/perf.log" 2>&1 &
		perf_pid=$!
		sleep 0.5
	fi
	read -ra sys0 <<<"$(system_ticks)"
	s0=$(proc_ticks "$server_pid")
	g0=$(proc_ticks "$signer_pid")
	node "$here/issue-load.mjs" issue "$base" "$tmp/orders-$a.txt" "$tmp/csr/$a" "$clients" >"$tmp/issue-$a.json" ||
		die "$a: the issuance run failed"
	s1=$(proc_ticks "$server_pid")
	g1=$(proc_ticks "$signer_pid")
	read -ra sys1 <<<"$(system_ticks)"
	if [[ -n $perf_pid && ! -s $tmp/perf-report.txt ]]; then
		kill -INT "$perf_pid" 2>/dev/null
		wait "$perf_pid" 2>/dev/null || true
		{
			perf report -i "$tmp/perf-$a.data" --sort comm,dso --stdio 2>/dev/null | grep -v '^#' | grep '%' | head -n 15
			echo
			perf report -i "$tmp/perf-$a.data" --sort comm,dso,symbol --stdio 2>/dev/null | grep -v '^#' | grep '%' | head -n 30
		} >"$tmp/perf-report.txt" || true
	fi
	jq -e ".issued == $count" "$tmp/issue-$a.json" >/dev/null ||
		die "$a: not every request issued a certificate: $(cat "$tmp/issue-$a.json"); server: $(tail -n 5 "$tmp/server/stderr")"
	jq --argjson hz "$clk_tck" --argjson srv $((s1 - s0)) --argjson sig $((g1 - g0)) --arg kinds "$(kinds "$lines0")" \
		--argjson total $((sys1[0] - sys0[0])) --argjson idle $((sys1[1] - sys0[1])) \
		'. + {signatures_during_run: $kinds, cpu_s: {certdeskd: ($srv / $hz), signer: ($sig / $hz), machine_busy: (($total - $idle) / $hz), machine_total: ($total / $hz)}}' \
		"$tmp/issue-$a.json" >"$tmp/issue-$a.cpu.json"
done
wait_published
signed=$(wc -l <"$tmp/signer.log")

# The reference: openssl's sign rate with the same algorithms on all the machine's cores.
log "reference: openssl speed -multi $(nproc) -seconds $speed_seconds rsa2048 ecdsap256 sm2"
openssl speed -multi "$(nproc)" -seconds "$speed_seconds" rsa2048 ecdsap256 sm2 >"$tmp/speed.txt" 2>&1 ||
	die "openssl speed failed: $(tail -n 5 "$tmp/speed.txt")"
# sign/s: the column before verify/s in the summary lines (rsa, ecdsa, SM2).
speed_of() { awk -v pat="$1" '$0 ~ pat { print $(NF - 1) }' "$tmp/speed.txt" | tail -n 1; }
declare -A speed=([rsa2048]=$(speed_of '^rsa +2048 bits') [p256]=$(speed_of 'ecdsa \(nistp256\)') [sm2]=$(speed_of 'SM2 \(CurveSM2\)'))
for a in $algs; do
	[[ ${speed[$a]} =~ ^[0-9.]+$ ]] || die "could not read the $a sign/s from openssl speed: $(tail -n 8 "$tmp/speed.txt")"
done

# ---------------------------------------------------------------- OCSP from the pre-signed store
ca_crt=$tmp/ca-keys/$ocsp_alg-issuing-1.crt
serial=$(sqlite3 "$tmp/server/db.sqlite" "SELECT serial FROM certificates WHERE ca_key_id = '$ocsp_alg-issuing-1' LIMIT 1")
[[ -n $serial ]] || die "no $ocsp_alg certificate to ask about"
openssl ocsp -issuer "$ca_crt" -serial "0x$serial" -no_nonce -reqout "$tmp/ocsp-req.der" >/dev/null 2>&1 ||
	die "openssl ocsp could not make the request"
b64=$(base64 -w0 "$tmp/ocsp-req.der" | sed 's|+|%2B|g; s|/|%2F|g; s|=|%3D|g')
ocsp_path=/ocsp/$b64
curl -fsS -o "$tmp/ocsp.der" "$base$ocsp_path" || die "GET $ocsp_path failed"
openssl ocsp -respin "$tmp/ocsp.der" -resp_text -noverify 2>/dev/null | grep -q 'Cert Status: good' ||
	die "GET $ocsp_path did not answer good: $(openssl ocsp -respin "$tmp/ocsp.der" -resp_text -noverify 2>&1 | head -n 20)"
curl -fsS -H 'Content-Type: application/ocsp-request' --data-binary "@$tmp/ocsp-req.der" -o "$tmp/ocsp-post.der" "$base/ocsp" ||
	die "POST /ocsp failed"
cmp -s "$tmp/ocsp.der" "$tmp/ocsp-post.der" || die "GET and POST /ocsp answered different bytes: not the pre-signed response?"
ocsp_bytes=$(stat -c %s "$tmp/ocsp.der")

# nginx: the same bytes from a file, at the same path.
start_nginx() {
	local dir=$tmp/nginx p
	mkdir -p "$dir/www"
	cp "$tmp/ocsp.der" "$dir/www/ocsp.der"
	for ((attempt = 0; attempt < 5; attempt++)); do
		p=$((20000 + RANDOM % 10000))
		cat >"$dir/nginx.conf" <<EOF
$([[ $(id -u) == 0 ]] && echo "user root;")
daemon off;
worker_processes $server_threads;
pid $dir/nginx.pid;
lock_file $dir/nginx.lock;
error_log $dir/error.log warn;
events { worker_connections 1024; }
http {
    access_log off;
    client_body_temp_path $dir/client_body;
    proxy_temp_path $dir/proxy;
    fastcgi_temp_path $dir/fastcgi;
    uwsgi_temp_path $dir/uwsgi;
    scgi_temp_path $dir/scgi;
    server_tokens off;
    etag off;
    tcp_nodelay on;
    keepalive_requests 100000000;
    open_file_cache max=16 inactive=60s;
    server {
        listen 127.0.0.1:$p;
        location /ocsp/ {
            default_type application/ocsp-response;
            root $dir/www;
            rewrite ^ /ocsp.der break;
        }
    }
}
EOF
		"$NGINX" -p "$dir/" -e "$dir/error.log" -c "$dir/nginx.conf" >"$dir/stdout" 2>&1 </dev/null &
		nginx_pid=$!
		pids+=("$nginx_pid")
		for ((i = 0; i < 100; i++)); do
			if curl -fsS -o "$dir/probe" "http://127.0.0.1:$p$ocsp_path" 2>/dev/null && cmp -s "$dir/probe" "$tmp/ocsp.der"; then
				nginx_port=$p
				return
			fi
			kill -0 "$nginx_pid" 2>/dev/null || break
			sleep 0.05
		done
		stop_pid "$nginx_pid"
		unset 'pids[${#pids[@]}-1]'
	done
	die "nginx did not start: $(cat "$dir/error.log" "$dir/stdout")"
}
start_nginx

cat >"$tmp/report.lua" <<'EOF'
done = function(summary, latency, requests)
  io.write(string.format('BENCH_JSON {"requests":%d,"duration_us":%d,"non2xx":%d,"errors":%d,"p50_us":%d,"p99_us":%d}\n',
    summary.requests, summary.duration, summary.errors.status,
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout,
    latency:percentile(50), latency:percentile(99)))
end
EOF
{
	echo 'local f = io.open(os.getenv("BENCH_OCSP_REQ"), "rb"); wrk.body = f:read("*a"); f:close()'
	echo 'wrk.method = "POST"; wrk.headers["Content-Type"] = "application/ocsp-request"'
	cat "$tmp/report.lua"
} >"$tmp/post.lua"

# ocsp_run NAME PID URL LUA: a warm-up, then the measured wrk run with the CPU of PID (and its children).
ocsp_run() {
	local name=$1 pid=$2 url=$3 lua=$4 c0 c1 out=$tmp/wrk-$1.txt
	local -a spids
	BENCH_OCSP_REQ=$tmp/ocsp-req.der wrk -t "$wrk_threads" -c "$connections" -d "$warmup" -s "$lua" "$url" >/dev/null 2>&1
	read -ra spids <<<"$pid $(pgrep -P "$pid" | tr '\n' ' ')"
	c0=$(proc_ticks "${spids[@]}")
	BENCH_OCSP_REQ=$tmp/ocsp-req.der wrk --latency -t "$wrk_threads" -c "$connections" -d "$duration" -s "$lua" "$url" >"$out" 2>&1 &
	wrk_pid=$!
	wait "$wrk_pid" || die "wrk failed against $url: $(cat "$out")"
	wrk_pid=
	c1=$(proc_ticks "${spids[@]}")
	sed -n 's/^BENCH_JSON //p' "$out" | jq --argjson cpu "$(((c1 - c0)))" --argjson hz "$clk_tck" --arg name "$name" \
		'. + {target: $name, per_s: (.requests / .duration_us * 1e6), server_cpu_us: ($cpu / $hz * 1e6 / .requests)}' >"$tmp/ocsp-$name.json"
	jq -e '.non2xx == 0 and .errors == 0 and .requests > 0' "$tmp/ocsp-$name.json" >/dev/null ||
		die "$name: errors during the run: $(cat "$out")"
}
log "OCSP: $ocsp_bytes-byte response for $ocsp_alg serial $serial; wrk $duration x $connections connections"
ocsp_run certdeskd-get "$server_pid" "$base$ocsp_path" "$tmp/report.lua"
ocsp_run certdeskd-post "$server_pid" "$base/ocsp" "$tmp/post.lua"
ocsp_run nginx-get "$nginx_pid" "http://127.0.0.1:$nginx_port$ocsp_path" "$tmp/report.lua"
signed_after=$(wc -l <"$tmp/signer.log")

# ---------------------------------------------------------------- report
# The commit of the tree the binaries were built from (BUILD_DIR may belong to another checkout).
src_dir=$(sed -n 's/^CMAKE_HOME_DIRECTORY:INTERNAL=//p' "$build_dir/CMakeCache.txt" 2>/dev/null || true)
src_dir=${src_dir:-$root}
if git_rev=$(git -C "$src_dir" rev-parse --short HEAD 2>/dev/null); then
	[[ -z $(git --no-optional-locks -C "$src_dir" status --porcelain -- src CMakeLists.txt 2>/dev/null) ]] || git_rev+="-dirty"
else
	git_rev="unknown (built from $src_dir)"
fi
issue_json=$(for a in $algs; do jq -c --arg alg "$a" --argjson speed "${speed[$a]}" \
	'{alg: $alg} + . + {openssl_sign_per_s_all_cores: $speed, ratio: (.certs_per_s / $speed),
	  certdeskd_cpu_ms_per_cert: (.cpu_s.certdeskd * 1000 / .issued), signer_cpu_ms_per_cert: (.cpu_s.signer * 1000 / .issued)}' \
	"$tmp/issue-$a.cpu.json"; done | jq -s .)
doc=$(jq -n --arg date "$(date -u +%Y-%m-%dT%H:%M:%SZ)" --arg git "$git_rev" --arg build "${build_type:-?}" \
	--arg cpu "$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)" --argjson nproc "$(nproc)" \
	--arg openssl "$(openssl version)" --arg nginx "$("$NGINX" -v 2>&1 | sed 's/^nginx version: //')" \
	--arg loadavg "$loadavg_before" --argjson busy "$busy_before" \
	--argjson count "$count" --argjson clients "$clients" --argjson threads "$server_threads" \
	--argjson issue "$issue_json" --argjson bytes "$ocsp_bytes" --arg ocsp_alg "$ocsp_alg" \
	--argjson signed_during_ocsp $((signed_after - signed)) \
	--slurpfile g "$tmp/ocsp-certdeskd-get.json" --slurpfile p "$tmp/ocsp-certdeskd-post.json" --slurpfile n "$tmp/ocsp-nginx-get.json" \
	--rawfile speed "$tmp/speed.txt" \
	'{benchmark: "issue", date: $date,
	  machine: {nproc: $nproc, cpu: $cpu, loadavg_before: $loadavg, cpu_busy_before_pct: $busy, openssl: $openssl, nginx: $nginx},
	  certdesk: {git: $git, build_type: $build, server_threads: $threads, database: "sqlite"},
	  issuance: {certificates_per_alg: $count, clients: $clients, results: $issue},
	  ocsp: {alg: $ocsp_alg, response_bytes: $bytes, signatures_during_ocsp_runs: $signed_during_ocsp,
	         results: [$g[0], $p[0], $n[0]], ratio_get_vs_nginx: ($g[0].per_s / $n[0].per_s)},
	  openssl_speed: ($speed | split("\n") | map(select(test("sign/s|bits|SM2|version|^Got"))) )}')
mkdir -p "$results_dir"
out_file=$results_dir/$(date -u +%Y-%m-%dT%H%M%SZ)-issue.json
jq . <<<"$doc" >"$out_file"
jq -r '
  def r(n; d): (n * pow(10; d) | round) / pow(10; d) | tostring;
  def pad(w): tostring | if length < w then " " * (w - length) + . else . end;
  "certdesk benchmark: issuance and OCSP (issue 12), \(.date)",
  "machine: \(.machine.nproc) CPUs (\(.machine.cpu)), load before \(.machine.loadavg_before), CPUs \(.machine.cpu_busy_before_pct)% busy before; \(.machine.openssl)",
  "certdesk git \(.certdesk.git) (\(.certdesk.build_type)), certdeskd server.threads=\(.certdesk.server_threads), SQLite, certdesk-signer",
  "",
  "issuance: \(.issuance.certificates_per_alg) certificates per algorithm, \(.issuance.clients) in flight (POST /api/v1/admin/orders/{no}/certificates)",
  "\("alg" | pad(8)) \("certs/s" | pad(9)) \("p50 ms" | pad(8)) \("p99 ms" | pad(8)) \("certdeskd ms/cert" | pad(18)) \("signer ms/cert" | pad(15)) \("openssl sign/s (all cores)" | pad(27)) \("ratio" | pad(6))",
  (.issuance.results[] | "\(.alg | pad(8)) \(r(.certs_per_s; 1) | pad(9)) \(r(.latency_ms.p50; 1) | pad(8)) \(r(.latency_ms.p99; 1) | pad(8)) \(r(.certdeskd_cpu_ms_per_cert; 3) | pad(18)) \(r(.signer_cpu_ms_per_cert; 3) | pad(15)) \(r(.openssl_sign_per_s_all_cores; 0) | pad(27)) \(r(.ratio; 3) | pad(6))"),
  (.issuance.results[] | "  signatures by certdesk-signer during the \(.alg) run: \(.signatures_during_run)"),
  "",
  "OCSP: \(.ocsp.response_bytes)-byte pre-signed response (\(.ocsp.alg)); signatures made during these runs: \(.ocsp.signatures_during_ocsp_runs)",
  "\("target" | pad(15)) \("responses/s" | pad(12)) \("p50 ms" | pad(8)) \("p99 ms" | pad(8)) \("server cpu/resp" | pad(16))",
  (.ocsp.results[] | "\(.target | pad(15)) \(r(.per_s; 0) | pad(12)) \(r(.p50_us / 1000; 3) | pad(8)) \(r(.p99_us / 1000; 3) | pad(8)) \("\(r(.server_cpu_us; 1)) us" | pad(16))"),
  "ratio certdeskd GET / nginx: \(r(.ocsp.ratio_get_vs_nginx; 2))",
  (if .ocsp.signatures_during_ocsp_runs > 0 then "WARNING: certdesk-signer signed \(.ocsp.signatures_during_ocsp_runs) times during the OCSP runs: not (only) the pre-signed store" else empty end),
  (if .machine.cpu_busy_before_pct > 10 then "WARNING: the CPUs were \(.machine.cpu_busy_before_pct)% busy before the run: the numbers are skewed" else empty end)
' "$out_file"
if [[ -s $tmp/perf-report.txt ]]; then
	echo
	echo "perf (during the first algorithm's issuance; CPU samples of certdeskd and certdesk-signer by process and library, then by symbol):"
	cat "$tmp/perf-report.txt"
fi
echo
echo "results: ${out_file#"$root"/}"
