#!/usr/bin/env bash
# bench/lib.sh: what the benchmarks share (sourced by run.sh and notify.sh): messages, stopping a
# process, CPU accounting from /proc, waiting for an idle machine. Uses the caller's $wait_idle
# (BENCH_WAIT_IDLE) and sets $busy.

die() {
	echo "bench: $*" >&2
	exit 1
}

log() { echo "bench: $*" >&2; }

# Stops one process we started: SIGTERM, then SIGKILL (and its children) after 10 s.
stop_pid() {
	local pid=$1 i
	kill -TERM "$pid" 2>/dev/null || return 0
	for ((i = 0; i < 100; i++)); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	if kill -0 "$pid" 2>/dev/null; then
		log "pid $pid ignored SIGTERM; killing it"
		local -a kids
		mapfile -t kids < <(pgrep -P "$pid" 2>/dev/null || true)
		kill -KILL "$pid" "${kids[@]}" 2>/dev/null || true
	fi
	wait "$pid" 2>/dev/null || true
}

# CPU accounting, in clock ticks, so that each run says how much CPU the server, wrk and
# everything else on the machine used while it ran.
# proc_ticks PID...: user+system ticks used so far by these processes (all their threads) and by their
# children that they waited for (certdeskd's decode launcher: each certdesk-decode it ran).
proc_ticks() {
	local p t sum=0
	for p in "$@"; do
		t=$(awk '{ sub(/.*\) /, ""); print $12 + $13 + $14 + $15 }' "/proc/$p/stat" 2>/dev/null || true)
		sum=$((sum + ${t:-0}))
	done
	echo "$sum"
}

# children_ticks: ticks of this script's reaped children (wrk, once waited for).
children_ticks() {
	awk '{ sub(/.*\) /, ""); print $14 + $15 }' "/proc/$$/stat" 2>/dev/null || echo 0
}

# system_ticks: "TOTAL IDLE" ticks over all CPUs since boot.
system_ticks() {
	awk '/^cpu / { print $2 + $3 + $4 + $5 + $6 + $7 + $8 + $9, $5 + $6; exit }' /proc/stat 2>/dev/null || echo "0 0"
}

# Percentage of all CPUs busy during one second before the run (-1 if unknown): another
# process burning a core makes the run meaningless, so it is recorded and warned about.
cpu_busy_pct() {
	local a b
	a=$(awk '/^cpu /{print $2+$3+$4+$5+$6+$7+$8+$9, $5+$6; exit}' /proc/stat 2>/dev/null) || a=
	sleep 1
	b=$(awk '/^cpu /{print $2+$3+$4+$5+$6+$7+$8+$9, $5+$6; exit}' /proc/stat 2>/dev/null) || b=
	if [[ -z $a || -z $b ]]; then
		echo -1
		return
	fi
	awk -v a="$a" -v b="$b" 'BEGIN { split(a, x, " "); split(b, y, " "); t = y[1] - x[1];
		printf "%d\n", (t > 0 ? 100 * (1 - (y[2] - x[2]) / t) + 0.5 : -1) }'
}

# wait_for_idle: with BENCH_WAIT_IDLE, waits (up to that long) until the CPUs are <= 10% busy.
# Sets $busy (the last measure).
wait_for_idle() {
	busy=$(cpu_busy_pct)
	((wait_idle > 0 && busy > 10)) || return 0
	log "CPUs ${busy}% busy; waiting up to ${wait_idle}s for them to be idle (BENCH_WAIT_IDLE)"
	local deadline=$((SECONDS + wait_idle))
	while ((busy > 10 && SECONDS < deadline)); do
		sleep 4
		busy=$(cpu_busy_pct)
	done
}
