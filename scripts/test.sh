#!/usr/bin/env bash
# README command 2: installs what is missing, builds under AddressSanitizer + UndefinedBehaviorSanitizer,
# and runs the whole test suite: the web UI's lint, types and unit tests, unit tests, integration tests
# on SQLite and on a real PostgreSQL server started here, the browser smoke test, and short fuzzing runs.
# Ends with a pass/fail summary.
set -uo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
build=${TEST_BUILD_DIR:-build-asan}
results=()
failed=0

step() { # step NAME COMMAND...: runs a step, records its result
	local name=$1
	shift
	echo
	echo "==> $name"
	local t0=$SECONDS
	if "$@"; then
		results+=("PASS  $name ($((SECONDS - t0)) s)")
	else
		results+=("FAIL  $name ($((SECONDS - t0)) s)")
		failed=1
	fi
}

summary() {
	echo
	echo "==================== certdesk test summary ===================="
	printf '%s\n' "${results[@]}"
	if [ "$failed" = 0 ]; then echo "ALL PASSED"; else echo "SOME FAILED"; fi
	echo "================================================================"
}

install() {
	if [ "$(id -u)" = 0 ]; then
		scripts/install-deps.sh
	elif command -v sudo >/dev/null; then
		sudo scripts/install-deps.sh
	else
		echo "not root and no sudo: assuming the packages of scripts/install-deps.sh are installed"
		(cd web && npm ci --no-audit --no-fund) && (cd tests/e2e && npm ci --no-audit --no-fund) &&
			(cd tests/pki-verify && npm ci --no-audit --no-fund)
	fi
}

build_all() {
	(cd web && npm run build) &&
		cmake -S . -B "$build" -DCERTDESK_SANITIZE=ON &&
		cmake --build "$build" -j "$(nproc)"
}

# The web UI's checks (web/README.md): eslint with no warning and Prettier's layout; vue-tsc;
# src/api/schema.d.ts as docs/openapi.yaml makes it; the auto-import declarations as the build
# just wrote them; Vitest.
# The programs scripts/demo.sh (README command 1) builds, optimised as it builds them: gcc's
# -Wformat-truncation and friends see more at -O2 than in the sanitizer build above.
build_demo() {
	cmake -S . -B "${build}-demo" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null &&
		cmake --build "${build}-demo" -j "$(nproc)" --target certdeskd certdesk certdesk-sim certdesk-signer \
			certdesk-agent certdesk-softskf certdesk-softskf-tool
}

web_lint() { (cd web && npm run --silent lint && npm run --silent format:check); }
web_types() {
	(cd web && npm run --silent typecheck && npm run --silent check:api) || return 1
	if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
		git diff --exit-code -- web/src/components.d.ts web/src/auto-imports.d.ts ||
			{ echo 'the build changed the auto-import declarations: commit them'; return 1; }
	fi
}
web_unit() { (cd web && npm test --silent); }

pg_dir=""
pg_stop() { [ -n "$pg_dir" ] && scripts/pg-test-server.sh stop "$pg_dir"; pg_dir=""; }
trap pg_stop EXIT

pg_start() {
	pg_dir=$(mktemp -u /tmp/certdesk-pg-XXXXXX)
	local port
	port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
	CERTDESK_TEST_PG_CONNINFO=$(scripts/pg-test-server.sh start "$pg_dir" "$port") || return 1
	export CERTDESK_TEST_PG_CONNINFO
	echo "PostgreSQL test server: $CERTDESK_TEST_PG_CONNINFO"
}

export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0:strict_string_checks=1}
export LSAN_OPTIONS=${LSAN_OPTIONS:-suppressions=$root/tests/lsan.supp}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

step "install dependencies" install
step "build (ASan + UBSan, -Werror) and web UI" build_all
if [ "$failed" = 1 ]; then
	summary
	exit 1
fi
step "optimised build of the demo (RelWithDebInfo, as scripts/demo.sh)" build_demo
step "web lint" web_lint
step "web types" web_types
step "web unit tests" web_unit
step "unit tests" ctest --test-dir "$build" -L unit --output-on-failure
step "integration tests on SQLite" ctest --test-dir "$build" -L sqlite --output-on-failure
step "start PostgreSQL" pg_start
# Skipping is a failure here: this command promises PostgreSQL.
step "integration tests on PostgreSQL" ctest --test-dir "$build" -L postgres --output-on-failure --no-tests=error \
	--schedule-random
pg_stop
step "browser tests (chromium)" env CERTDESKD="$root/$build/certdeskd" CERTDESK_WEB_ROOT="$root/web/dist" \
	node tests/e2e/run.mjs
if [ -x tests/fuzz/run.sh ]; then
	step "fuzzing (${FUZZ_SECONDS:-10} s a target)" env FUZZ_SECONDS="${FUZZ_SECONDS:-10}" tests/fuzz/run.sh
fi
summary
exit "$failed"
