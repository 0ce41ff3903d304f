#!/bin/sh
# Builds the libFuzzer targets with clang and runs each for FUZZ_SECONDS seconds (default 20).
#   tests/fuzz/run.sh [target...]          default: every target
# Environment:
#   FUZZ_SECONDS    seconds per target (default 20)
#   FUZZ_BUILD_DIR  build directory (default build-fuzz at the top of the repo)
#   FUZZ_MERGE=1    afterwards, merge the new inputs that add coverage into tests/fuzz/corpus/
# Exits 0 when no target crashed, 1 when one did (the input is saved as
# $FUZZ_BUILD_DIR/fuzz-artifacts/<target>-crash-...), 2 on a build or usage problem.
set -eu

root=$(cd "$(dirname "$0")/../.." && pwd)
fuzzdir=$root/tests/fuzz
build=${FUZZ_BUILD_DIR:-$root/build-fuzz}
secs=${FUZZ_SECONDS:-20}
all="fuzz_api fuzz_bodies fuzz_router fuzz_multipart fuzz_config fuzz_sql_dollar fuzz_image fuzz_ids fuzz_calendar fuzz_invoice fuzz_sf fuzz_wxpay_notify fuzz_alipay_notify fuzz_csr fuzz_signer fuzz_ocsp fuzz_seal"
targets=${*:-$all}

case $secs in
'' | *[!0-9]*) echo "run.sh: FUZZ_SECONDS must be a whole number" >&2; exit 2 ;;
esac
if ! command -v clang >/dev/null 2>&1; then
	echo "run.sh: clang not found (the fuzz targets need clang's libFuzzer)" >&2
	exit 2
fi

cmake -S "$root" -B "$build" -DCMAKE_C_COMPILER=clang -DCERTDESK_FUZZ=ON >/dev/null || exit 2
# The programs too: this is the build that keeps the whole tree clean under clang -Werror.
# shellcheck disable=SC2086 # targets is a list
cmake --build "$build" -j2 --target $targets certdeskd certdesk certdesk-sim certdesk-signer >/dev/null || exit 2

work=$(mktemp -d "${TMPDIR:-/tmp}/certdesk-fuzz.XXXXXX")
trap 'rm -rf "$work"' EXIT INT TERM
artifacts=$build/fuzz-artifacts
mkdir -p "$artifacts"
status=0

for t in $targets; do
	bin=$build/tests/fuzz/$t
	corpus=$fuzzdir/corpus/$t
	log=$artifacts/$t.log
	[ -x "$bin" ] || { echo "run.sh: no target $t" >&2; exit 2; }
	mkdir -p "$work/$t"
	set -- -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
		-artifact_prefix="$artifacts/$t-"
	[ -f "$fuzzdir/$t.dict" ] && set -- "$@" -dict="$fuzzdir/$t.dict"
	# a target's own libFuzzer flags, one per line
	if [ -f "$fuzzdir/$t.options" ]; then
		while read -r opt; do set -- "$@" "$opt"; done <"$fuzzdir/$t.options"
	fi
	# New inputs go to the first (scratch) directory; the committed corpus is only read.
	if "$bin" "$@" "$work/$t" "$corpus" >"$log" 2>&1; then
		runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
		cov=$(grep -o 'cov: [0-9]*' "$log" | tail -n 1)
		echo "ok    $t: ${runs:-?} runs in ${secs}s, $cov"
	else
		echo "CRASH $t: see $log"
		grep -E '^(==[0-9]+==ERROR|SUMMARY|fuzz_[a-z_]+:|artifact_prefix|Test unit written)' "$log" | head -n 20
		status=1
	fi
	if [ "${FUZZ_MERGE:-0}" = 1 ] && [ "$status" = 0 ]; then
		"$bin" -merge=1 "$corpus" "$work/$t" >>"$log" 2>&1
		echo "      merged into tests/fuzz/corpus/$t ($(find "$corpus" -type f | wc -l) files)"
	fi
done
exit $status
