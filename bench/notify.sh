#!/usr/bin/env bash
# bench/notify.sh: POST /api/v1/payments/wxpay/notify on certdeskd with a correctly signed and
# encrypted WeChat Pay notification, measured with wrk, next to the RSA-2048 signature
# verifications/s of this machine (openssl speed) measured in the same run. See bench/README.md.
#
# Each request is the same notification (bench/wxpay-notification.mjs) about an out_trade_no that
# certdeskd does not know: the server checks the Wechatpay-* headers and the SHA256withRSA signature,
# decrypts the AES-256-GCM resource, checks the transaction JSON and records the event and an audit
# entry (verdict "unknown") in one database transaction, then answers 204.
#
# Environment (all optional):
#   CERTDESKD             server binary (default: <repo>/build/certdeskd; copied to the temp dir first,
#                         so that a rebuild during the run does not change what is measured)
#   NODE                  node binary (default: node)
#   OPENSSL               openssl binary (default: openssl)
#   BENCH_DURATION        wrk duration (default 10s)
#   BENCH_CONNECTIONS     wrk connections (default 16)
#   BENCH_THREADS         wrk threads (default 2)
#   BENCH_WARMUP          warm-up duration (default 2s)
#   BENCH_SERVER_THREADS  certdeskd server.threads (default: nproc)
#   BENCH_SPEED_SECONDS   openssl speed -seconds (default 3; sign and verify are timed for this long each)
#   BENCH_RESULTS_DIR     where the JSON goes (default: bench/results)
#   BENCH_WAIT_IDLE       wait up to this many seconds for the CPUs to be idle (<= 10% busy)
#                         before starting and before a retry (default 0: do not wait, only warn)
#   BENCH_RETRIES         measure again, up to this many times, when other processes used more than
#                         5% of the machine during the run (default 2)
#   TMPDIR                where the temp dir (and so the SQLite database) goes (default /tmp)
#
# The notification's Wechatpay-Timestamp must be within 300 s of the server's clock, so it is
# generated again right before each wrk run, and warm-up + duration must stay under 240 s.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/.." && pwd)
. "$here/lib.sh"

CERTDESKD=${CERTDESKD:-$root/build/certdeskd}
NODE=${NODE:-node}
OPENSSL=${OPENSSL:-openssl}
WRK=${WRK:-wrk}
duration=${BENCH_DURATION:-10s}
connections=${BENCH_CONNECTIONS:-16}
wrk_threads=${BENCH_THREADS:-2}
warmup=${BENCH_WARMUP:-2s}
server_threads=${BENCH_SERVER_THREADS:-$(nproc)}
speed_seconds=${BENCH_SPEED_SECONDS:-3}
results_dir=${BENCH_RESULTS_DIR:-$here/results}
wait_idle=${BENCH_WAIT_IDLE:-0}
retries=${BENCH_RETRIES:-2}
path=/api/v1/payments/wxpay/notify
keys=$root/config/testkeys


# ---------------------------------------------------------------- checks
[[ $duration =~ ^[1-9][0-9]*[smh]?$ ]] || die "BENCH_DURATION must look like 10s, 1m or 30 (got '$duration')"
[[ $warmup =~ ^[1-9][0-9]*[smh]?$ ]] || die "BENCH_WARMUP must look like 2s (got '$warmup')"
[[ $connections =~ ^[1-9][0-9]*$ ]] || die "BENCH_CONNECTIONS must be a positive integer (got '$connections')"
[[ $wrk_threads =~ ^[1-9][0-9]*$ ]] || die "BENCH_THREADS must be a positive integer (got '$wrk_threads')"
[[ $server_threads =~ ^[1-9][0-9]*$ ]] || die "BENCH_SERVER_THREADS must be a positive integer (got '$server_threads')"
[[ $speed_seconds =~ ^[1-9][0-9]*$ ]] || die "BENCH_SPEED_SECONDS must be a positive integer (got '$speed_seconds')"
[[ $wait_idle =~ ^[0-9]+$ ]] || die "BENCH_WAIT_IDLE must be a number of seconds (got '$wait_idle')"
[[ $retries =~ ^[0-9]+$ ]] || die "BENCH_RETRIES must be a non-negative integer (got '$retries')"
((connections >= wrk_threads)) || die "BENCH_CONNECTIONS ($connections) must be >= BENCH_THREADS ($wrk_threads)"
# seconds DURATION: 10s -> 10, 2m -> 120, 1h -> 3600, 30 -> 30.
seconds() {
	local n=${1%[smh]}
	case $1 in
	*m) echo $((n * 60)) ;;
	*h) echo $((n * 3600)) ;;
	*) echo "$n" ;;
	esac
}
(($(seconds "$warmup") + $(seconds "$duration") < 240)) ||
	die "BENCH_WARMUP + BENCH_DURATION must stay under 240 s: the notification's timestamp is only accepted for 300 s"
for tool in curl jq "$WRK" "$NODE" "$OPENSSL"; do
	command -v "$tool" >/dev/null || die "'$tool' not found"
done
[[ -x $CERTDESKD ]] || die "certdeskd binary '$CERTDESKD' not found; build it: cmake -S . -B build && make -C build -j2"
for k in wxpay-merchant.key wxpay-platform.key wxpay-platform.pub alipay-app.key alipay-gateway.pub; do
	[[ -r $keys/$k ]] || die "test key $keys/$k not found"
done
have_sqlite3=0
command -v sqlite3 >/dev/null && have_sqlite3=1

# ---------------------------------------------------------------- temp dir and cleanup
tmp=$(mktemp -d "${TMPDIR:-/tmp}/certdesk-bench-notify.XXXXXX")
pids=()   # servers we started
wrk_pid=  # the wrk run (or openssl speed) in progress


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

# A private copy of the binary: another build may relink build/certdeskd while we measure.
cp "$CERTDESKD" "$tmp/certdeskd"
certdeskd_src=$(cd "$(dirname "$CERTDESKD")" && pwd)/$(basename "$CERTDESKD")
CERTDESKD=$tmp/certdeskd

# ---------------------------------------------------------------- certdeskd
# start_certdeskd: starts the server on a kernel-chosen port (port 0) with a fresh SQLite database
# in the temp dir (migrated at start); sets $port and $server_pid.
start_certdeskd() {
	local dir=$tmp/server pid i
	mkdir -p "$dir/web" "$dir/files"
	: >"$dir/stdout"
	# Only our CERTDESK_* settings: certdeskd rejects unknown ones and we want a known config
	# (wxpay appid, mchid, platform serial and APIv3 key are certdeskd's defaults).
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
		CERTDESK_DATABASE_BACKEND=sqlite \
		CERTDESK_DATABASE_SQLITE_PATH="$dir/db.sqlite" \
		CERTDESK_FILES_DATA_DIR="$dir/files" \
		CERTDESK_LOG_ACCESS_LOG="" \
		CERTDESK_WXPAY_MERCHANT_KEY="$keys/wxpay-merchant.key" \
		CERTDESK_WXPAY_PLATFORM_KEY="$keys/wxpay-platform.pub" \
		CERTDESK_ALIPAY_APP_KEY="$keys/alipay-app.key" \
		CERTDESK_ALIPAY_PUBLIC_KEY="$keys/alipay-gateway.pub" \
		"$CERTDESKD" >"$dir/stdout" 2>"$dir/stderr" </dev/null &
	pid=$!
	pids+=("$pid")
	server_pid=$pid
	port=
	for ((i = 0; i < 200; i++)); do
		port=$(sed -n 's|.* listening on http://127\.0\.0\.1:\([0-9][0-9]*\).*|\1|p' "$dir/stdout" || true)
		[[ -n $port ]] && break
		kill -0 "$pid" 2>/dev/null || die "certdeskd exited at start-up: $(cat "$dir/stderr")"
		sleep 0.05
	done
	[[ -n $port ]] || die "certdeskd did not report a port within 10 s: $(cat "$dir/stdout" "$dir/stderr")"
}

# ---------------------------------------------------------------- the notification
# generate NAME: a fresh notification (timestamp now) in $tmp/NAME.
generate() {
	rm -rf "${tmp:?}/$1"
	"$NODE" "$here/wxpay-notification.mjs" --out "$tmp/$1" --key "$keys/wxpay-platform.key" ||
		die "bench/wxpay-notification.mjs failed"
}

# post DIR FILE OUT: POSTs FILE with DIR's headers; prints the status code, the body goes to OUT.
post() {
	local -a h=()
	local line
	while IFS= read -r line; do
		h+=(-H "$line")
	done <"$1/headers.txt"
	curl -sS -o "$3" -w '%{http_code}' --max-time 10 "${h[@]}" --data-binary "@$1/$2" "$url"
}

# events VERDICT: payment_events rows with that verdict so far (-1 without sqlite3).
events() {
	if ((have_sqlite3)); then
		sqlite3 -cmd '.timeout 10000' "$tmp/server/db.sqlite" \
			"SELECT count(*) FROM payment_events WHERE provider = 'wxpay' AND verdict = '$1'"
	else
		echo -1
	fi
}

# proc_user_sys PID: "USER SYSTEM" ticks used so far by PID (all its threads).
proc_user_sys() {
	awk '{ sub(/.*\) /, ""); print $12, $13 }' "/proc/$1/stat" 2>/dev/null || echo "0 0"
}
clk_tck=$(getconf CLK_TCK 2>/dev/null || echo 100)

# measured NAME CMD...: runs CMD (wrk or openssl) in the background with its output in $tmp/NAME.txt,
# and its CPU accounting (server, the command itself, everything else) in $tmp/cpu-NAME.json.
measured() {
	local name=$1 out=$tmp/$1.txt
	shift
	local -a sys0 sys1
	local srv0 srv1 kids0 kids1 rc=0 su0 ss0 su1 ss1
	read -ra sys0 <<<"$(system_ticks)"
	srv0=$(proc_ticks "$server_pid")
	read -r su0 ss0 <<<"$(proc_user_sys "$server_pid")"
	kids0=$(children_ticks)
	"$@" >"$out" 2>&1 </dev/null &
	wrk_pid=$!
	wait "$wrk_pid" || rc=$?
	wrk_pid=
	kids1=$(children_ticks)
	srv1=$(proc_ticks "$server_pid")
	read -r su1 ss1 <<<"$(proc_user_sys "$server_pid")"
	read -ra sys1 <<<"$(system_ticks)"
	((rc == 0)) || die "$name: '$1' failed (exit $rc): $(tail -c 2000 "$out")"
	jq -n --argjson total $((sys1[0] - sys0[0])) --argjson idle $((sys1[1] - sys0[1])) \
		--argjson server $((srv1 - srv0)) --argjson server_user $((su1 - su0)) --argjson server_sys $((ss1 - ss0)) --argjson tool $((kids1 - kids0)) --argjson hz "$clk_tck" \
		'{ticks_per_s: $hz, total: $total, busy: ($total - $idle), server: $server,
		  server_user: $server_user, server_sys: $server_sys, tool: $tool,
		  other: ([$total - $idle - $server - $tool, 0] | max)}' >"$tmp/cpu-$name.json"
}

# run_wrk NAME DURATION: a fresh notification, then wrk; the summary goes to $tmp/wrk-NAME.json.
# Error statuses and socket errors are recorded (and warned about), not fatal.
run_wrk() {
	local name=$1 dur=$2
	generate "notification-$name"
	BENCH_NOTIFY_DIR=$tmp/notification-$name measured "wrk-$name" \
		"$WRK" --latency -t "$wrk_threads" -c "$connections" -d "$dur" -s "$here/wxpay-notify.lua" "$url"
	grep -q '^BENCH_JSON ' "$tmp/wrk-$name.txt" || die "wrk printed no summary: $(cat "$tmp/wrk-$name.txt")"
	sed -n 's/^BENCH_JSON //p' "$tmp/wrk-$name.txt" >"$tmp/wrk-$name.json"
	jq -e '.requests > 0' "$tmp/wrk-$name.json" >/dev/null || die "$name: no requests: $(cat "$tmp/wrk-$name.txt")"
}


# ---------------------------------------------------------------- run
log "temp dir $tmp"
wait_for_idle
busy_before=$busy
loadavg_before=$(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null || echo unknown)

start_certdeskd
url=http://127.0.0.1:$port$path
log "certdeskd on :$port (server.threads=$server_threads, SQLite in $tmp/server)"

# One genuine notification must be recorded (204), a tampered copy refused (401).
generate check
code=$(post "$tmp/check" body.json "$tmp/check.out") || die "curl POST $url failed"
[[ $code == 204 ]] || die "the notification was answered $code, expected 204: $(head -c 500 "$tmp/check.out"); server: $(tail -n 20 "$tmp/server/stderr")"
code=$(post "$tmp/check" tampered.json "$tmp/check-tampered.out") || die "curl POST $url failed"
[[ $code == 401 ]] || die "the tampered notification was answered $code, expected 401: $(head -c 500 "$tmp/check-tampered.out")"
if ((have_sqlite3)); then
	[[ $(events unknown) == 1 ]] || die "the notification did not leave one 'unknown' payment event"
fi
log "check: notification 204, tampered copy 401"

log "warm-up $warmup"
run_wrk warmup "$warmup"
for ((try = 1; ; try++)); do
	events_before=$(events unknown)
	log "measuring $duration ($connections connections, $wrk_threads wrk threads)"
	run_wrk notify "$duration"
	events_after=$(events unknown)
	other=$(jq 'if .total > 0 then (100 * .other / .total | floor) else 0 end' "$tmp/cpu-wrk-notify.json")
	((other > 5 && try <= retries)) || break
	log "other processes used ${other}% of the machine during the run; measuring again ($try/$retries)"
	wait_for_idle
done
attempts=$try
stopped_early=false
kill -0 "$server_pid" 2>/dev/null || stopped_early=true

# The reference, same machine, same run: one core's RSA-2048 verifications/s.
log "reference: $OPENSSL speed -seconds $speed_seconds rsa2048"
measured speed "$OPENSSL" speed -seconds "$speed_seconds" rsa2048
# The column headed verify/s in the "rsa 2048 bits" line (its place differs between OpenSSL versions).
read -r rsa_sign_per_s rsa_verify_per_s < <(awk '
	/sign\/s/ && /verify\/s/ { for (i = 1; i <= NF; i++) { if ($i == "sign/s") s = i; if ($i == "verify/s") v = i } }
	/^rsa +2048 +bits/ && s && v { sub(/^rsa +2048 +bits +/, ""); split($0, f, / +/); print f[s], f[v]; exit }
' "$tmp/speed.txt") || true
[[ ${rsa_verify_per_s:-} =~ ^[0-9]+(\.[0-9]+)?$ ]] ||
	die "could not read verify/s from openssl speed: $(tail -n 5 "$tmp/speed.txt")"

# ---------------------------------------------------------------- machine
cpu_model=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo 2>/dev/null | head -1)
git_rev=$(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo unknown)
if [[ $git_rev != unknown && -n $(git --no-optional-locks -C "$root" status --porcelain -- src CMakeLists.txt 2>/dev/null) ]]; then
	git_rev+="-dirty"
fi
tmp_fs=$(df -PT "$tmp" 2>/dev/null | awk 'NR == 2 { print $2 " (" $7 ")" }')
machine=$(jq -n \
	--arg nproc "$(nproc)" \
	--arg cpu "${cpu_model:-unknown}" \
	--arg kernel "$(uname -r)" \
	--arg loadavg "$loadavg_before" --argjson busy "$busy_before" \
	--arg loadavg_after "$(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null || echo unknown)" \
	--arg wrk "$("$WRK" -v 2>&1 | head -1 | sed 's/ Copyright.*//')" \
	--arg openssl "$("$OPENSSL" version)" \
	--arg node "$("$NODE" --version)" \
	--arg certdeskd "$("$CERTDESKD" --version)" \
	--arg certdeskd_path "$certdeskd_src" \
	--arg git "$git_rev" \
	--arg mhd "$(dpkg-query -W -f='${Version}' libmicrohttpd12 2>/dev/null || echo unknown)" \
	--arg sqlite "$(dpkg-query -W -f='${Version}' libsqlite3-0 2>/dev/null || echo unknown)" \
	--arg tmpfs "${tmp_fs:-unknown}" \
	'{nproc: ($nproc | tonumber), cpu: $cpu, kernel: $kernel, loadavg_before: $loadavg, cpu_busy_before_pct: $busy,
	  loadavg_after: $loadavg_after, wrk: $wrk, openssl: $openssl, node: $node, certdeskd: $certdeskd,
	  certdeskd_binary: $certdeskd_path, certdesk_git: $git, libmicrohttpd: $mhd, sqlite: $sqlite,
	  database_filesystem: $tmpfs}')

server_errors=$(grep -v -e ' listening on ' -e 'outbox worker delivering' "$tmp/server/stderr" "$tmp/server/stdout" 2>/dev/null | tail -n 50 || true)
stamp=$(date -u +%Y-%m-%dT%H%M%SZ)
doc=$(jq -n \
	--arg date "$(date -u +%Y-%m-%dT%H:%M:%SZ)" --arg path "$path" --arg url "$url" \
	--arg duration "$duration" --arg warmup "$warmup" \
	--argjson connections "$connections" --argjson wrk_threads "$wrk_threads" \
	--argjson server_threads "$server_threads" --argjson retries "$retries" --argjson attempts "$attempts" \
	--argjson speed_seconds "$speed_seconds" \
	--argjson machine "$machine" \
	--slurpfile s "$tmp/wrk-notify.json" --slurpfile c "$tmp/cpu-wrk-notify.json" \
	--slurpfile sc "$tmp/cpu-speed.json" --slurpfile n "$tmp/notification-notify/notification.json" \
	--rawfile raw "$tmp/wrk-notify.txt" --rawfile speed "$tmp/speed.txt" \
	--argjson rsa_sign "$rsa_sign_per_s" --argjson rsa_verify "$rsa_verify_per_s" \
	--argjson ev0 "$events_before" --argjson ev1 "$events_after" \
	--arg server_errors "$server_errors" --argjson stopped "$stopped_early" \
	'($s[0]) as $s | ($c[0]) as $c | ($sc[0]) as $sc | ($n[0]) as $n |
	 ($s.status | to_entries | map(select(.key | test("^2")) | .value) | add // 0) as $ok |
	 ($c.server / $c.ticks_per_s * 1e6 / $s.requests) as $srv_us |
	 ($s.requests / $s.duration_us * 1e6) as $rps |
	 ($ok / $s.duration_us * 1e6) as $nps |
	 {benchmark: "wxpay-notify", date: $date, path: $path, url: $url,
	  parameters: {duration: $duration, warmup: $warmup, connections: $connections, wrk_threads: $wrk_threads,
	               retries: $retries, certdeskd_threads: $server_threads, openssl_speed_seconds: $speed_seconds,
	               database: "sqlite (journal_mode=WAL, synchronous=FULL), fresh file in the temp dir",
	               notification: "TRANSACTION.SUCCESS, out_trade_no unknown to certdeskd: verdict unknown, answered 204"},
	  machine: $machine,
	  notification: {body_bytes: $n.body_bytes, out_trade_no: $n.out_trade_no},
	  result: {
	    notifications_per_s: $nps,
	    requests_per_s: $rps,
	    status: $s.status, errors: $s.errors,
	    latency_avg_ms: ($s.latency_us.mean / 1000),
	    latency_p50_ms: ($s.latency_us.p50 / 1000),
	    latency_p90_ms: ($s.latency_us.p90 / 1000),
	    latency_p99_ms: ($s.latency_us.p99 / 1000),
	    latency_max_ms: ($s.latency_us.max / 1000),
	    requests: $s.requests, duration_s: ($s.duration_us / 1e6), attempts: $attempts,
	    events_recorded: (if $ev0 >= 0 then $ev1 - $ev0 else null end),
	    server_cpu_us_per_notification: $srv_us,
	    cpu: {server_s: ($c.server / $c.ticks_per_s), server_user_s: ($c.server_user / $c.ticks_per_s),
	          server_sys_s: ($c.server_sys / $c.ticks_per_s), wrk_s: ($c.tool / $c.ticks_per_s),
	          other_s: ($c.other / $c.ticks_per_s), machine_busy_s: ($c.busy / $c.ticks_per_s),
	          machine_total_s: ($c.total / $c.ticks_per_s),
	          other_pct_of_machine: (if $c.total > 0 then 100 * $c.other / $c.total else null end)},
	    server_alive_after: ($stopped | not),
	    server_log: ($server_errors | split("\n") | map(select(length > 0))),
	    wrk_output: ($raw | split("\n") | map(select(startswith("BENCH_JSON") | not)) | join("\n"))},
	  reference: {
	    what: "openssl speed -seconds N rsa2048: RSA-2048 verify/s on one core (CPU time)",
	    rsa2048_sign_per_s: $rsa_sign, rsa2048_verify_per_s: $rsa_verify,
	    rsa2048_verify_us: (1e6 / $rsa_verify),
	    other_pct_of_machine: (if $sc.total > 0 then 100 * $sc.other / $sc.total else null end),
	    openssl_output: ($speed | split("\n") | map(select(test("^(rsa|version|built|options|compiler|CPUINFO| +sign)"))) | join("\n"))},
	  ratio: {
	    machine_busy_pct_during_run: (if $c.total > 0 then 100 * $c.busy / $c.total else null end),
	    notifications_per_s_to_verify_per_s: ($nps / $rsa_verify),
	    notifications_per_server_cpu_s: (1e6 / $srv_us),
	    verify_share_of_server_cpu: ((1e6 / $rsa_verify) / $srv_us)}}')

# ---------------------------------------------------------------- report
mkdir -p "$results_dir"
out_file=$results_dir/$stamp-notify.json
n=1
while [[ -e $out_file ]]; do
	out_file=$results_dir/$stamp-$((n++))-notify.json
done
jq . <<<"$doc" >"$out_file"

jq -r '
  def r(n; d): (n * pow(10; d) | round | tostring) as $s
    | if d == 0 then $s
      else ("0" * (d + 1 - ($s | length)) // "") + $s
        | .[0:length - d] + "." + .[length - d:] end;
  .result as $r | .reference as $ref | .ratio as $x |
  "certdesk benchmark: POST \(.path) (signed + encrypted WeChat Pay notification, unknown out_trade_no -> 204), wrk \(.parameters.duration) x \(.parameters.connections) connections x \(.parameters.wrk_threads) threads, after \(.parameters.warmup) warm-up",
  "machine: \(.machine.nproc) CPUs (\(.machine.cpu)), Linux \(.machine.kernel), load before \(.machine.loadavg_before), CPUs \(.machine.cpu_busy_before_pct)% busy before\(if .machine.cpu_busy_before_pct > 10 then " (WARNING: not idle, numbers skewed)" else "" end); database on \(.machine.database_filesystem)",
  "versions: \(.machine.certdeskd) (git \(.machine.certdesk_git), libmicrohttpd \(.machine.libmicrohttpd), sqlite \(.machine.sqlite)); \(.machine.openssl); \(.machine.wrk); node \(.machine.node)",
  "",
  "notifications/s          \(r($r.notifications_per_s; 0))   (\($r.status | to_entries | map("\(.key): \(.value)") | join(", ")) in \(r($r.duration_s; 1)) s; certdeskd server.threads=\(.parameters.certdeskd_threads))",
  "latency p50 / p99        \(r($r.latency_p50_ms; 3)) ms / \(r($r.latency_p99_ms; 3)) ms   (avg \(r($r.latency_avg_ms; 3)) ms, max \(r($r.latency_max_ms; 3)) ms)",
  "server CPU/notification  \(r($r.server_cpu_us_per_notification; 1)) us   (\(r(100 * $r.cpu.server_sys_s / ([$r.cpu.server_s, 1e-9] | max); 0))% in the kernel; = \(r($x.notifications_per_server_cpu_s; 0)) notifications per server CPU second)",
  "RSA-2048 verify/s/core   \(r($ref.rsa2048_verify_per_s; 0))   (openssl speed, \(r($ref.rsa2048_verify_us; 1)) us each; sign/s \(r($ref.rsa2048_sign_per_s; 0)))",
  "",
  "ratio notifications/s : RSA-2048 verify/s per core = \(r($x.notifications_per_s_to_verify_per_s; 4))",
  "ratio per CPU second: \(r($x.notifications_per_server_cpu_s; 0)) notifications : \(r($ref.rsa2048_verify_per_s; 0)) verifications = \(r($x.verify_share_of_server_cpu; 4)); the RSA verify is \(r(100 * $x.verify_share_of_server_cpu; 1))% of a notification'"'"'s server CPU",
  "machine \(r(100 * $r.cpu.machine_busy_s / ([$r.cpu.machine_total_s, 1e-9] | max); 0))% busy during the run (server \(r($r.cpu.server_s; 2)) s, wrk \(r($r.cpu.wrk_s; 2)) s, other \(r($r.cpu.other_s; 2)) s of \(r($r.cpu.machine_total_s; 2)) CPU-seconds)",
  "events recorded: \($r.events_recorded // "n/a (no sqlite3)") for \($r.requests) requests; other processes: \(r($r.cpu.other_pct_of_machine // 0; 1))% of the machine during wrk (attempt \($r.attempts)), \(r($ref.other_pct_of_machine // 0; 1))% during openssl speed",
  (if ($r.status | to_entries | map(select(.key | test("^2") | not)) | length) > 0 or ($r.errors | to_entries | map(.value) | add) > 0
   then "WARNING: error responses or socket errors: status \($r.status | tojson), errors \($r.errors | tojson); server log: \($r.server_log | join(" | "))" else empty end),
  # Requests in flight when wrk stops may be recorded without wrk counting their answer.
  (if $r.events_recorded != null and ($r.events_recorded < ($r.status["204"] // 0) or
       $r.events_recorded > ($r.status["204"] // 0) + .parameters.connections)
   then "WARNING: \($r.events_recorded) events recorded for \($r.status["204"] // 0) answers 204" else empty end),
  (if $r.server_alive_after | not then "WARNING: certdeskd was no longer running after the measurement" else empty end),
  (if ($r.cpu.other_pct_of_machine // 0) > 5
   then "WARNING: other processes used \(r($r.cpu.other_pct_of_machine; 1))% of the machine during the measurement; its numbers are skewed" else empty end)
' <<<"$doc"
echo
echo "results: ${out_file#"$root"/}"
