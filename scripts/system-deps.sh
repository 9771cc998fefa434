#!/usr/bin/env bash
# The system packages the build and the tests use: a C++ toolchain and python3 for node-gyp (npm ci builds
# better-sqlite3, pkcs11js and the PKCS#11 addon), SoftHSM2 for the PKCS#11 tests, and the OpenSSL PKCS#11
# engine through which the TLS terminator (keyward tls) and its tests use HSM keys, chromium, in which
# the keyward bench tests open the HTML report, and the PostgreSQL server, which the PostgresStore tests
# start privately (initdb + pg_ctl into a temp dir); the openssl command makes the TLS tests' certificates
# and is their s_client peer. Run by .ci/run before
# npm ci and by `npm test` before anything else: installs what is missing when it can (root with apt-get),
# otherwise names exactly what to install and fails, so no HSM test is ever skipped for want of a package.
set -euo pipefail

missing=()
{ command -v g++ >/dev/null && command -v make >/dev/null; } || missing+=(g++ make)
command -v python3 >/dev/null || missing+=(python3)
{ [ -e /usr/lib/softhsm/libsofthsm2.so ] && command -v softhsm2-util >/dev/null; } || missing+=(softhsm2)
[ -e /usr/lib/x86_64-linux-gnu/engines-3/pkcs11.so ] || missing+=(libengine-pkcs11-openssl)
command -v openssl >/dev/null || missing+=(openssl)
[ -x /usr/bin/chromium ] || missing+=(chromium)
compgen -G '/usr/lib/postgresql/*/bin/postgres' >/dev/null && compgen -G '/usr/lib/postgresql/*/bin/initdb' >/dev/null || missing+=(postgresql)

[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  echo "installing system packages: ${missing[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get install -y --no-install-recommends "${missing[@]}" >&2 \
    || { apt-get update >&2 && apt-get install -y --no-install-recommends "${missing[@]}" >&2; }
else
  echo "missing system packages: ${missing[*]}" >&2
  echo "install them with: sudo apt-get install ${missing[*]}   (Debian/Ubuntu), then run npm test again" >&2
  exit 1
fi
