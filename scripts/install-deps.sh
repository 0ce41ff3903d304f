#!/usr/bin/env bash
# Installs every Debian and npm package certdesk needs, idempotently, on Debian 12 (run as root).
# The README's dependency table says why each one is here.
set -euo pipefail
cd "$(dirname "$0")/.."

apt_pkgs=(
  # build
  build-essential cmake pkg-config clang
  # server and store
  libmicrohttpd-dev libjansson-dev libsqlite3-dev sqlite3 libpq-dev postgresql
  libssl-dev libcurl4-openssl-dev libinih-dev libsodium-dev
  # seccomp allow-lists of certdeskd, certdesk-signer and certdesk-decode (issue 16)
  libseccomp-dev
  # CA signer: pkcs11.h (PKCS#11 modules are dlopen'ed)
  libp11-kit-dev
  # documents and images (captcha, forms, uploads)
  libcairo2-dev libpango1.0-dev fonts-noto-cjk libqrencode-dev libpng-dev libjpeg62-turbo-dev libgd-dev libzbar-dev
  # tests and tools
  libcmocka-dev curl ca-certificates chromium wrk nginx-light poppler-utils zbar-tools
  # PKI tests: a SoftHSM2 token and pkcs11-tool; GnuTLS certtool/ocsptool as a second verifier
  softhsm2 opensc gnutls-bin
)

missing=()
# The machine may carry its own Node.js (with npm); Debian's is used only when there is none.
command -v npm >/dev/null || apt_pkgs+=(nodejs npm)
for p in "${apt_pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update
  apt-get install -y --no-install-recommends "${missing[@]}"
fi

# Web UI, browser-test and SM2-verifier (tests/pki-verify) packages, exactly as package-lock.json says.
for d in web tests/e2e tests/pki-verify; do
  if [ ! -f "$d/node_modules/.package-lock.json" ] || [ "$d/package-lock.json" -nt "$d/node_modules/.package-lock.json" ]; then
    (cd "$d" && npm ci --no-audit --no-fund)
  fi
done
