#!/usr/bin/env bash
# Set up mailbot on a Debian/Ubuntu machine, then run the demo (default) or the tests.
#   ./bootstrap.sh demo   # set up, then run the whole pipeline once on a demo inbox
#   ./bootstrap.sh test   # set up with test tools, then lint and run the whole test suite
set -euo pipefail
cd "$(dirname "$0")"
what="${1:-demo}"
case "$what" in demo|test) ;; *) echo "usage: $0 [demo|test]" >&2; exit 2 ;; esac

say() { printf '\033[1m==> %s\033[0m\n' "$*"; }

as_root() {
  if [ "$(id -u)" = 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else
    echo "need root (or sudo) to run: $*" >&2; exit 1; fi
}

# System packages: Python with venv, and Dovecot + OpenSSL for the IMAP integration tests.
missing=()
python3 -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null || missing+=(python3)
python3 -m venv --help >/dev/null 2>&1 || missing+=(python3-venv)
if [ "$what" = test ]; then
  command -v dovecot >/dev/null 2>&1 || [ -x /usr/sbin/dovecot ] || missing+=(dovecot-imapd)
  command -v openssl >/dev/null 2>&1 || missing+=(openssl)
fi
if [ ${#missing[@]} -gt 0 ]; then
  say "installing system packages: ${missing[*]}"
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi
python3 -c 'import sys; sys.exit(sys.version_info < (3, 11))' || {
  echo "mailbot needs Python 3.11 or newer; this python3 is $(python3 --version)" >&2; exit 1; }

if [ ! -x .venv/bin/python ]; then
  say "creating the virtual environment in .venv"
  python3 -m venv .venv
fi
say "installing mailbot and its dependencies"
.venv/bin/python -m pip install -q --upgrade pip 2>&1 | grep -v '^WARNING: Location' || true
extra=""; [ "$what" = test ] && extra="[test]"
.venv/bin/python -m pip install -q -e ".${extra}" 2>&1 | grep -v '^WARNING: Location' || true
.venv/bin/python -c 'import mailbot, spacy, imapclient, mailparser' || {
  echo "the installation failed; see the pip output above" >&2; exit 1; }

if [ "$what" = demo ]; then
  say "running the demo"
  exec .venv/bin/mailbot demo
fi

say "lint (ruff)"
.venv/bin/ruff check .
say "tests (pytest)"
set +e
.venv/bin/python -m pytest "${@:2}"
status=$?
set -e
if [ $status -eq 5 ]; then
  echo "pytest collected no tests: that is a failure, not a pass" >&2
  exit 1
fi
exit $status
