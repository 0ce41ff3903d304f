#!/usr/bin/env bash
# bench/run.sh: GET /api/v1/meta on certdeskd against nginx serving the same bytes
# as a static file, both measured with wrk on this machine. See bench/README.md.
#
# Environment (all optional):
#   CERTDESKD             server binary (default: <repo>/build/certdeskd)
#   NGINX                 nginx binary (default: /usr/sbin/nginx)
#   BENCH_DURATION        wrk duration per target (default 10s)
#   BENCH_CONNECTIONS     wrk connections (default 64)
#   BENCH_THREADS         wrk threads (default 2)
#   BENCH_WARMUP          warm-up duration per target (default 2s)
#   BENCH_SERVER_THREADS  certdeskd server.threads and nginx worker_processes (default: nproc)
#   BENCH_ACCESS_LOG      1 (default): also measure certdeskd with its access log on
#                         (written to a file in the temp dir); 0: skip that run
#   BENCH_RESULTS_DIR     where the JSON goes (default: bench/results)
#   BENCH_WAIT_IDLE       wait up to this many seconds for the CPUs to be idle (<= 10% busy)
#                         before starting and before a retry (default 0: do not wait, only warn)
#   BENCH_RETRIES         measure a target again, up to this many times, when other processes
#                         used more than 5% of the machine during its run (default 2)
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/.." && pwd)
. "$here/lib.sh"

CERTDESKD=${CERTDESKD:-$root/build/certdeskd}
NGINX=${NGINX:-/usr/sbin/nginx}
WRK=${WRK:-wrk}
duration=${BENCH_DURATION:-10s}
connections=${BENCH_CONNECTIONS:-64}
wrk_threads=${BENCH_THREADS:-2}
warmup=${BENCH_WARMUP:-2s}
server_threads=${BENCH_SERVER_THREADS:-$(nproc)}
with_access_log=${BENCH_ACCESS_LOG:-1}
results_dir=${BENCH_RESULTS_DIR:-$here/results}
wait_idle=${BENCH_WAIT_IDLE:-0}
retries=${BENCH_RETRIES:-2}
path=/api/v1/meta


# ---------------------------------------------------------------- checks
[[ $duration =~ ^[1-9][0-9]*[smh]?$ ]] || die "BENCH_DURATION must look like 10s, 1m or 30 (got '$duration')"
[[ $warmup =~ ^[1-9][0-9]*[smh]?$ ]] || die "BENCH_WARMUP must look like 2s (got '$warmup')"
[[ $connections =~ ^[1-9][0-9]*$ ]] || die "BENCH_CONNECTIONS must be a positive integer (got '$connections')"
[[ $wrk_threads =~ ^[1-9][0-9]*$ ]] || die "BENCH_THREADS must be a positive integer (got '$wrk_threads')"
[[ $server_threads =~ ^[1-9][0-9]*$ ]] || die "BENCH_SERVER_THREADS must be a positive integer (got '$server_threads')"
[[ $with_access_log == 0 || $with_access_log == 1 ]] || die "BENCH_ACCESS_LOG must be 0 or 1"
[[ $wait_idle =~ ^[0-9]+$ ]] || die "BENCH_WAIT_IDLE must be a number of seconds (got '$wait_idle')"
[[ $retries =~ ^[0-9]+$ ]] || die "BENCH_RETRIES must be a non-negative integer (got '$retries')"
((connections >= wrk_threads)) || die "BENCH_CONNECTIONS ($connections) must be >= BENCH_THREADS ($wrk_threads)"
for tool in curl jq "$WRK" "$NGINX" cmp; do
	command -v "$tool" >/dev/null || die "'$tool' not found"
done
[[ -x $CERTDESKD ]] || die "certdeskd binary '$CERTDESKD' not found; build it: cmake -S . -B build && make -C build -j2"
CERTDESKD=$(cd "$(dirname "$CERTDESKD")" && pwd)/$(basename "$CERTDESKD")

# ---------------------------------------------------------------- temp dir and cleanup
tmp=$(mktemp -d "${TMPDIR:-/tmp}/certdesk-bench.XXXXXX")
pids=()   # servers we started
wrk_pid=  # the wrk run in progress


cleanup() {
	local rc=$?
	trap - EXIT INT TERM
	set +e
	if [[ -n $wrk_pid ]]; then
		kill -TERM "$wrk_pid" 2>/dev/null
		wait "$wrk_pid" 2>/dev/null
	fi
	for pid in "${pids[@]}"; do
		stop_pid "$pid"
	done
	rm -rf "$tmp"
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# ---------------------------------------------------------------- certdeskd
# start_certdeskd NAME ACCESS_LOG: starts an instance on a kernel-chosen port (port 0)
# and sets $started_port from its "listening on" line and $started_pid.
start_certdeskd() {
	local name=$1 access_log=$2 dir=$tmp/$1 pid i
	mkdir -p "$dir/web"
	: >"$dir/stdout" # exists before the background job opens it, for the polling below
	# Only our CERTDESK_* settings: certdeskd rejects unknown ones and we want a known config.
	local -a unset=()
	local v
	for v in $(compgen -e); do
		[[ $v == CERTDESK_* ]] && unset+=(-u "$v")
	done
	env "${unset[@]}" \
		CERTDESK_SERVER_PORT=0 \
		CERTDESK_SERVER_LISTEN_ADDRESS=127.0.0.1 \
		CERTDESK_SERVER_THREADS="$server_threads" \
		CERTDESK_SERVER_SHUTDOWN_TIMEOUT_S=2 \
		CERTDESK_SERVER_WEB_ROOT="$dir/web" \
		CERTDESK_CALENDAR_DATA_DIR="$root/data/holidays-cn" \
		CERTDESK_DATABASE_SQLITE_PATH="$dir/db.sqlite" \
		CERTDESK_FILES_DATA_DIR="$dir/files" \
		CERTDESK_LOG_ACCESS_LOG="$access_log" \
		"$CERTDESKD" >"$dir/stdout" 2>"$dir/stderr" </dev/null &
	pid=$!
	pids+=("$pid")
	started_pid=$pid
	started_port=
	for ((i = 0; i < 200; i++)); do
		started_port=$(sed -n 's|.* listening on http://127\.0\.0\.1:\([0-9][0-9]*\).*|\1|p' "$dir/stdout" || true)
		[[ -n $started_port ]] && break
		kill -0 "$pid" 2>/dev/null || die "certdeskd ($name) exited at start-up: $(cat "$dir/stderr")"
		sleep 0.05
	done
	[[ -n $started_port ]] || die "certdeskd ($name) did not report a port within 10 s: $(cat "$dir/stdout" "$dir/stderr")"
}

# ---------------------------------------------------------------- nginx
# A candidate port below the kernel's ephemeral range and not listened on now;
# start_nginx retries with another one if the bind still loses a race.
candidate_port() {
	local lo=20000 hi p i
	hi=$(awk '{print $1 - 1}' /proc/sys/net/ipv4/ip_local_port_range 2>/dev/null || echo 32767)
	((hi > lo)) || hi=32767
	for ((i = 0; i < 50; i++)); do
		p=$(shuf -i "$lo-$hi" -n 1)
		if ! command -v ss >/dev/null || [[ -z $(ss -Htln "sport = :$p" 2>/dev/null) ]]; then
			echo "$p"
			return
		fi
	done
	die "no free port found"
}

write_nginx_conf() {
	local port=$1 dir=$tmp/nginx user_line=""
	# As root nginx would switch workers to "nobody", who cannot read the 0700 temp dir.
	[[ $(id -u) == 0 ]] && user_line="user root;"
	cat >"$dir/nginx.conf" <<EOF
# Generated by bench/run.sh; everything nginx writes stays under $dir.
$user_line
daemon off;
master_process on;
worker_processes $server_threads;
pid $dir/nginx.pid;
lock_file $dir/nginx.lock;
error_log $dir/error.log warn;

events {
    worker_connections 1024;
}

http {
    access_log off;
    client_body_temp_path $dir/client_body;
    proxy_temp_path $dir/proxy;
    fastcgi_temp_path $dir/fastcgi;
    uwsgi_temp_path $dir/uwsgi;
    scgi_temp_path $dir/scgi;

    default_type application/json;
    charset utf-8;
    charset_types application/json;
    server_tokens off;
    etag off;
    tcp_nodelay on;
    keepalive_timeout 65s;
    keepalive_requests 100000000;
    open_file_cache max=16 inactive=60s;
    open_file_cache_valid 60s;

    server {
        listen 127.0.0.1:$port;
        location = $path {
            alias $tmp/meta.json;
            # The headers certdeskd sends, so that both responses are about the same size.
            add_header Cache-Control no-store always;
            add_header X-Content-Type-Options nosniff always;
            add_header Referrer-Policy same-origin always;
            add_header X-Frame-Options DENY always;
        }
        location / {
            return 404;
        }
    }
}
EOF
}

# Sets $nginx_port and $nginx_pid. nginx is ready once it serves meta.json byte for byte; if its bind
# fails (it retries for ~2.5 s before giving up) it is stopped and another port is tried.
start_nginx() {
	local dir=$tmp/nginx attempt i pid port
	mkdir -p "$dir"
	for ((attempt = 1; attempt <= 5; attempt++)); do
		port=$(candidate_port)
		write_nginx_conf "$port"
		: >"$dir/error.log"
		"$NGINX" -t -q -p "$dir/" -e "$dir/error.log" -c "$dir/nginx.conf" 2>"$dir/stderr" ||
			die "nginx -t rejected the generated configuration: $(cat "$dir/stderr" "$dir/error.log")"
		: >"$dir/stderr"
		"$NGINX" -p "$dir/" -e "$dir/error.log" -c "$dir/nginx.conf" >"$dir/stdout" 2>"$dir/stderr" </dev/null &
		pid=$!
		pids+=("$pid")
		for ((i = 0; i < 200; i++)); do
			grep -qs 'bind() to .* failed' "$dir/error.log" "$dir/stderr" && break
			kill -0 "$pid" 2>/dev/null || break
			if curl -fsS -o "$dir/probe" --max-time 2 "http://127.0.0.1:$port$path" 2>/dev/null &&
				cmp -s "$dir/probe" "$tmp/meta.json" && kill -0 "$pid" 2>/dev/null &&
				! grep -qs 'bind() to .* failed' "$dir/error.log" "$dir/stderr"; then
				nginx_port=$port
				nginx_pid=$pid
				return
			fi
			sleep 0.05
		done
		if grep -qs 'Address already in use' "$dir/error.log" "$dir/stderr"; then
			stop_pid "$pid"
			unset 'pids[${#pids[@]}-1]' # reaped; do not signal its id again
			log "port $port was taken; retrying nginx with another port"
			continue
		fi
		kill -0 "$pid" 2>/dev/null || die "nginx exited at start-up: $(cat "$dir/stderr" "$dir/error.log")"
		die "nginx did not serve meta.json on port $port within 10 s: $(cat "$dir/stderr" "$dir/error.log")"
	done
	die "nginx could not bind a port after 5 attempts"
}

# ---------------------------------------------------------------- wrk
cat >"$tmp/report.lua" <<'EOF'
-- Machine-readable summary next to wrk's own report; times in microseconds.
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'BENCH_JSON {"duration_us":%.0f,"requests":%.0f,"bytes":%.0f,' ..
    '"errors":{"connect":%.0f,"read":%.0f,"write":%.0f,"status":%.0f,"timeout":%.0f},' ..
    '"latency_us":{"mean":%.3f,"stdev":%.3f,"max":%.0f,"p50":%.0f,"p90":%.0f,"p99":%.0f}}\n',
    summary.duration, summary.requests, summary.bytes,
    e.connect, e.read, e.write, e.status, e.timeout,
    latency.mean, latency.stdev, latency.max,
    latency:percentile(50), latency:percentile(90), latency:percentile(99)))
end
EOF

# server_pids TARGET: the processes serving TARGET (nginx: master and workers).
server_pids() {
	local p=${server_pid[$1]}
	local -a kids
	mapfile -t kids < <(pgrep -P "$p" 2>/dev/null || true)
	echo "$p" "${kids[@]}"
}

# run_wrk NAME TARGET DURATION: runs wrk against TARGET's URL and fails on any non-2xx/3xx
# or socket error; leaves wrk's report in $tmp/wrk-NAME.txt, the summary in
# $tmp/wrk-NAME.json and the CPU accounting in $tmp/cpu-NAME.json.
run_wrk() {
	local name=$1 target=$2 dur=$3 out=$tmp/wrk-$1.txt url=${url[$2]}
	local -a spids sys0 sys1
	local srv0 srv1 kids0 kids1
	read -ra spids <<<"$(server_pids "$target")"
	read -ra sys0 <<<"$(system_ticks)"
	srv0=$(proc_ticks "${spids[@]}")
	kids0=$(children_ticks)
	# In the background so that a SIGINT/SIGTERM to this script is handled at once.
	"$WRK" --latency -t "$wrk_threads" -c "$connections" -d "$dur" -s "$tmp/report.lua" "$url" >"$out" 2>&1 </dev/null &
	wrk_pid=$!
	local rc=0
	wait "$wrk_pid" || rc=$?
	wrk_pid=
	kids1=$(children_ticks)
	srv1=$(proc_ticks "${spids[@]}")
	read -ra sys1 <<<"$(system_ticks)"
	((rc == 0)) || die "wrk failed against $url (exit $rc): $(cat "$out")"
	jq -n --argjson total $((sys1[0] - sys0[0])) --argjson idle $((sys1[1] - sys0[1])) \
		--argjson server $((srv1 - srv0)) --argjson wrk $((kids1 - kids0)) --argjson hz "$clk_tck" \
		'{ticks_per_s: $hz, total: $total, busy: ($total - $idle), server: $server, wrk: $wrk,
		  other: ([$total - $idle - $server - $wrk, 0] | max)}' >"$tmp/cpu-$name.json"
	grep -q '^BENCH_JSON ' "$out" || die "wrk printed no summary for $url: $(cat "$out")"
	sed -n 's/^BENCH_JSON //p' "$out" >"$tmp/wrk-$name.json"
	if grep -q 'Non-2xx or 3xx responses' "$out"; then
		die "$name: wrk saw error responses: $(grep 'Non-2xx' "$out")"
	fi
	if grep -q 'Socket errors' "$out"; then
		die "$name: wrk saw socket errors: $(grep 'Socket errors' "$out")"
	fi
	jq -e '.requests > 0 and .errors.status == 0' "$tmp/wrk-$name.json" >/dev/null ||
		die "$name: no successful requests: $(cat "$out")"
}

# check_200 URL FILE: one request that must be a 200; body saved to FILE.
check_200() {
	local code
	code=$(curl -sS -o "$2" -w '%{http_code}' --max-time 5 "$1") || die "curl $1 failed"
	[[ $code == 200 ]] || die "GET $1 returned $code, expected 200: $(head -c 500 "$2")"
}

# header_bytes URL FILE: prints the size of the response header; the header goes to FILE.
header_bytes() {
	curl -sS -D "$2" -o /dev/null -w '%{size_header}' --max-time 5 "$1"
}

# ---------------------------------------------------------------- run
log "temp dir $tmp"
loadavg_before=$(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null || echo unknown)

wait_for_idle
busy_before=$busy
loadavg_before=$(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null || echo unknown)
if ((busy_before > 10)); then
	log "WARNING: the CPUs were already ${busy_before}% busy before the run (load $loadavg_before);"
	log "WARNING: the numbers below are skewed; see what else runs (top) and run again when idle"
fi
clk_tck=$(getconf CLK_TCK 2>/dev/null || echo 100)
declare -A url server_pid attempts
start_certdeskd certdeskd ""
certdeskd_port=$started_port
targets=(certdeskd)
url[certdeskd]=http://127.0.0.1:$certdeskd_port$path
server_pid[certdeskd]=$started_pid
if [[ $with_access_log == 1 ]]; then
	start_certdeskd certdeskd-accesslog "$tmp/certdeskd-accesslog/access.log"
	url[certdeskd-accesslog]=http://127.0.0.1:$started_port$path
	server_pid[certdeskd-accesslog]=$started_pid
	targets+=(certdeskd-accesslog)
fi

check_200 "${url[certdeskd]}" "$tmp/meta.json"
[[ -s $tmp/meta.json ]] || die "certdeskd returned an empty body for $path"
start_nginx
url[nginx]=http://127.0.0.1:$nginx_port$path
server_pid[nginx]=$nginx_pid
targets+=(nginx)

# Every target must answer 200 with exactly the same body before it is measured.
for t in "${targets[@]}"; do
	check_200 "${url[$t]}" "$tmp/check-$t.body"
	cmp -s "$tmp/meta.json" "$tmp/check-$t.body" || die "$t returned a different body than certdeskd's meta.json"
done

log "certdeskd on :$certdeskd_port, nginx on :$nginx_port; server threads/workers: $server_threads"
for t in "${targets[@]}"; do
	log "$t: warm-up $warmup"
	run_wrk "$t-warmup" "$t" "$warmup"
	for ((try = 1; ; try++)); do
		log "$t: measuring $duration ($connections connections, $wrk_threads wrk threads)"
		run_wrk "$t" "$t" "$duration"
		other=$(jq 'if .total > 0 then (100 * .other / .total | floor) else 0 end' "$tmp/cpu-$t.json")
		((other > 5 && try <= retries)) || break
		log "$t: other processes used ${other}% of the machine during the run; measuring again ($try/$retries)"
		wait_for_idle
	done
	attempts[$t]=$try
done
if [[ $with_access_log == 1 ]]; then
	lines=$(wc -l <"$tmp/certdeskd-accesslog/access.log")
	((lines > 0)) || die "certdeskd-accesslog wrote no access log lines"
fi

# ---------------------------------------------------------------- machine
cpu_model=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo 2>/dev/null | head -1)
git_rev=$(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo unknown)
if [[ $git_rev != unknown && -n $(git --no-optional-locks -C "$root" status --porcelain -- src CMakeLists.txt 2>/dev/null) ]]; then
	git_rev+="-dirty"
fi
mhd_version=$(dpkg-query -W -f='${Version}' libmicrohttpd12 2>/dev/null || echo unknown)
machine=$(jq -n \
	--arg nproc "$(nproc)" \
	--arg cpu "${cpu_model:-unknown}" \
	--arg kernel "$(uname -r)" \
	--arg loadavg "$loadavg_before" --argjson busy "$busy_before" \
	--arg wrk "$("$WRK" -v 2>&1 | head -1 | sed 's/ Copyright.*//')" \
	--arg nginx "$("$NGINX" -v 2>&1 | sed 's/^nginx version: //')" \
	--arg certdeskd "$("$CERTDESKD" --version)" \
	--arg git "$git_rev" \
	--arg mhd "$mhd_version" \
	'{nproc: ($nproc | tonumber), cpu: $cpu, kernel: $kernel, loadavg_before: $loadavg, cpu_busy_before_pct: $busy,
	  wrk: $wrk, nginx: $nginx, certdeskd: $certdeskd, certdesk_git: $git, libmicrohttpd: $mhd}')

results='[]'
for t in "${targets[@]}"; do
	hb=$(header_bytes "${url[$t]}" "$tmp/headers-$t.txt")
	results=$(jq -c \
		--arg name "$t" --arg url "${url[$t]}" --arg hb "$hb" --argjson attempts "${attempts[$t]}" \
		--rawfile raw "$tmp/wrk-$t.txt" --rawfile headers "$tmp/headers-$t.txt" --slurpfile s "$tmp/wrk-$t.json" --slurpfile c "$tmp/cpu-$t.json" \
		'. + [($s[0]) as $s | ($c[0]) as $c | {
		  target: $name, url: $url, attempts: $attempts,
		  requests_per_s: ($s.requests / $s.duration_us * 1e6),
		  latency_avg_ms: ($s.latency_us.mean / 1000),
		  latency_p50_ms: ($s.latency_us.p50 / 1000),
		  latency_p90_ms: ($s.latency_us.p90 / 1000),
		  latency_p99_ms: ($s.latency_us.p99 / 1000),
		  latency_max_ms: ($s.latency_us.max / 1000),
		  transfer_bytes_per_s: ($s.bytes / $s.duration_us * 1e6),
		  bytes_per_response: ($s.bytes / $s.requests),
		  header_bytes: ($hb | tonumber),
		  response_headers: ($headers | gsub("\r"; "") | split("\n") | map(select(length > 0))),
		  requests: $s.requests, duration_s: ($s.duration_us / 1e6), errors: $s.errors,
		  cpu: {server_s: ($c.server / $c.ticks_per_s), wrk_s: ($c.wrk / $c.ticks_per_s),
		        other_s: ($c.other / $c.ticks_per_s), machine_busy_s: ($c.busy / $c.ticks_per_s),
		        machine_total_s: ($c.total / $c.ticks_per_s),
		        other_pct_of_machine: (if $c.total > 0 then 100 * $c.other / $c.total else null end)},
		  server_cpu_us_per_request: ($c.server / $c.ticks_per_s * 1e6 / $s.requests),
		  wrk_output: ($raw | split("\n") | map(select(startswith("BENCH_JSON") | not)) | join("\n"))
		}]' <<<"$results")
done

stamp=$(date -u +%Y-%m-%dT%H%M%SZ)
doc=$(jq -n \
	--arg date "$(date -u +%Y-%m-%dT%H:%M:%SZ)" --arg path "$path" \
	--arg duration "$duration" --arg warmup "$warmup" \
	--argjson connections "$connections" --argjson wrk_threads "$wrk_threads" \
	--argjson server_threads "$server_threads" --argjson retries "$retries" \
	--argjson machine "$machine" --argjson results "$results" \
	'($results | map({(.target): .}) | add) as $by |
	{benchmark: "meta", date: $date, path: $path,
	 parameters: {duration: $duration, warmup: $warmup, connections: $connections, wrk_threads: $wrk_threads,
	              retries: $retries, certdeskd_threads: $server_threads, nginx_worker_processes: $server_threads,
	              nginx: "static file, keepalive, access_log off, open_file_cache, same extra headers as certdeskd"},
	 machine: $machine,
	 results: $results,
	 ratio_vs_nginx: ($results | map(select(.target != "nginx") | {(.target): {
	     requests_per_s: (.requests_per_s / $by.nginx.requests_per_s),
	     latency_avg: (.latency_avg_ms / $by.nginx.latency_avg_ms),
	     latency_p99: (.latency_p99_ms / $by.nginx.latency_p99_ms),
	     server_cpu_per_request: (.server_cpu_us_per_request / $by.nginx.server_cpu_us_per_request)}}) | add)}')

# ---------------------------------------------------------------- report
mkdir -p "$results_dir"
out_file=$results_dir/$stamp-meta.json
n=1
while [[ -e $out_file ]]; do
	out_file=$results_dir/$stamp-$((n++))-meta.json
done
jq . <<<"$doc" >"$out_file"

jq -r '
  # n with exactly d decimals (n >= 0).
  def r(n; d): (n * pow(10; d) | round | tostring) as $s
    | if d == 0 then $s
      else ("0" * (d + 1 - ($s | length)) // "") + $s
        | .[0:length - d] + "." + .[length - d:] end;
  def pad(w): tostring | if length < w then " " * (w - length) + . else . end;
  def rpad(w): tostring | if length < w then . + " " * (w - length) else . end;
  "certdesk benchmark: GET \(.path), wrk \(.parameters.duration) x \(.parameters.connections) connections x \(.parameters.wrk_threads) threads, after \(.parameters.warmup) warm-up per target",
  "machine: \(.machine.nproc) CPUs (\(.machine.cpu)), Linux \(.machine.kernel), load before \(.machine.loadavg_before), CPUs \(.machine.cpu_busy_before_pct)% busy before\(if .machine.cpu_busy_before_pct > 10 then " (WARNING: not idle, numbers skewed)" else "" end)",
  "versions: \(.machine.wrk); \(.machine.nginx); \(.machine.certdeskd) (git \(.machine.certdesk_git), libmicrohttpd \(.machine.libmicrohttpd))",
  "servers: certdeskd server.threads=\(.parameters.certdeskd_threads), nginx worker_processes=\(.parameters.nginx_worker_processes) (= BENCH_SERVER_THREADS, default nproc)",
  "",
  "\("target" | rpad(20)) \("requests/s" | pad(11)) \("lat avg" | pad(10)) \("lat p99" | pad(10)) \("transfer/s" | pad(13)) \("bytes/resp" | pad(10)) \("req/s ratio" | pad(11)) \("srv cpu/req" | pad(11)) \("other cpu" | pad(9))",
  (.ratio_vs_nginx as $ratio | .results[] |
   "\(.target | rpad(20)) \(r(.requests_per_s; 0) | pad(11)) \("\(r(.latency_avg_ms; 3)) ms" | pad(10)) \("\(r(.latency_p99_ms; 3)) ms" | pad(10)) \("\(r(.transfer_bytes_per_s / 1048576; 2)) MiB/s" | pad(13)) \(r(.bytes_per_response; 0) | pad(10)) \((if .target == "nginx" then "1.00" else r($ratio[.target].requests_per_s; 2) end) | pad(11)) \("\(r(.server_cpu_us_per_request; 2)) us" | pad(11)) \("\(r(.cpu.other_pct_of_machine // 0; 1))%" | pad(9))"),
  "",
  (.ratio_vs_nginx | to_entries[] |
   "ratio \(.key)/nginx: requests/s \(r(.value.requests_per_s; 2)), latency avg \(r(.value.latency_avg; 2))x, p99 \(r(.value.latency_p99; 2))x, server CPU per request \(r(.value.server_cpu_per_request; 2))x"),
  (.results[] | select((.cpu.other_pct_of_machine // 0) > 5) |
   "WARNING: other processes used \(r(.cpu.other_pct_of_machine; 1))% of the machine during the \(.target) run (attempt \(.attempts)); its numbers are skewed")
' <<<"$doc"
echo
echo "results: ${out_file#"$root"/}"
