#!/usr/bin/env bash
# Checks the files of deploy/ (docs/operations.md): systemd-analyze verify accepts the units (their
# ExecStart pointed at the built programs, since verify wants the binaries to exist) and nginx -t accepts
# the nginx configuration (inside a minimal nginx.conf, with a throw-away self-signed certificate).
# usage: scripts/check-deploy.sh BUILD_DIR    exit 0 ok, 1 refused, 77 when a tool is missing.
set -euo pipefail
src=$(cd "$(dirname "$0")/.." && pwd)
build=$(cd "${1:?build directory}" && pwd)
for tool in systemd-analyze nginx openssl; do
	command -v "$tool" >/dev/null 2>&1 || [ -x "/usr/sbin/$tool" ] || { echo "check-deploy: no $tool: skipped"; exit 77; }
done
PATH=$PATH:/usr/sbin
tmp=$(mktemp -d /tmp/certdesk-deploy-XXXXXX)
trap 'rm -rf "$tmp"' EXIT

# The units, with /usr/local/bin/<program> replaced by the build's programs.
for unit in certdeskd.service certdesk-signer.service; do
	sed "s#/usr/local/bin/#$build/#g" "$src/deploy/$unit" >"$tmp/$unit"
done
for prog in certdeskd certdesk certdesk-signer; do
	[ -x "$build/$prog" ] || { echo "check-deploy: $build/$prog not built: skipped"; exit 77; }
done
# Warnings about users that do not exist here are not errors of the units; anything else is.
if ! systemd-analyze verify --man=no "$tmp/certdeskd.service" "$tmp/certdesk-signer.service" >"$tmp/verify.out" 2>&1; then
	cat "$tmp/verify.out"
	echo "check-deploy: systemd-analyze verify refused the units"
	exit 1
fi
if grep -v -e 'not found' -e '^$' "$tmp/verify.out" | grep -i -e 'unknown' -e 'invalid' -e 'ignoring' -e 'failed'; then
	echo "check-deploy: systemd-analyze verify complained about the units"
	exit 1
fi
echo "check-deploy: systemd-analyze verify: certdeskd.service certdesk-signer.service ok"

# nginx: the site inside a minimal main configuration, certificate paths pointed at a fresh pair.
mkdir -p "$tmp/tls"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1 -subj /CN=certdesk.example.cn \
	-keyout "$tmp/tls/certdesk.key" -out "$tmp/tls/certdesk.crt" >/dev/null 2>&1
sed "s#/etc/nginx/tls/#$tmp/tls/#g" "$src/deploy/nginx-certdesk.conf" >"$tmp/site.conf"
cat >"$tmp/nginx.conf" <<CONF
pid $tmp/nginx.pid;
error_log $tmp/error.log;
events {}
http {
    access_log off;
    client_body_temp_path $tmp/body;
    proxy_temp_path $tmp/proxy;
    fastcgi_temp_path $tmp/fastcgi;
    uwsgi_temp_path $tmp/uwsgi;
    scgi_temp_path $tmp/scgi;
    include $tmp/site.conf;
}
CONF
if ! nginx -t -q -p "$tmp" -e "$tmp/error.log" -c "$tmp/nginx.conf" 2>"$tmp/nginx.out"; then
	cat "$tmp/nginx.out"
	echo "check-deploy: nginx -t refused deploy/nginx-certdesk.conf"
	exit 1
fi
echo "check-deploy: nginx -t: deploy/nginx-certdesk.conf ok"
