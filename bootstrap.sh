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

# System packages: Python with venv, Dovecot + OpenSSL for the IMAP integration tests, and
# SpamAssassin (spamd, spamc) for the spam filter test, chromium for the browser tests.
missing=()
python3 -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null || missing+=(python3)
python3 -m venv --help >/dev/null 2>&1 || missing+=(python3-venv)
if [ "$what" = test ]; then
  command -v dovecot >/dev/null 2>&1 || [ -x /usr/sbin/dovecot ] || missing+=(dovecot-imapd)
  command -v openssl >/dev/null 2>&1 || missing+=(openssl)
  command -v spamd >/dev/null 2>&1 || [ -x /usr/sbin/spamd ] || missing+=(spamassassin)
  command -v spamc >/dev/null 2>&1 || missing+=(spamc)
  # The web workspace's browser tests: Debian's chromium (Playwright drives it), with fonts
  # for the Chinese pages.
  [ -x /usr/bin/chromium ] || missing+=(chromium)
  [ -d /usr/share/fonts/opentype/noto ] || missing+=(fonts-noto-cjk)
  # A real Redmine for the tracker tests (tests/servers/redmine.py), on SQLite: about 20 s.
  [ -f /usr/share/redmine/config.ru ] || missing+=(redmine redmine-sqlite)
fi
if [ ${#missing[@]} -gt 0 ]; then
  say "installing system packages: ${missing[*]}"
  as_root apt-get update -qq
  # Debian 12 and later ship spamd as a package of its own (before: inside spamassassin).
  if [[ " ${missing[*]} " == *" spamassassin "* ]] && apt-cache show spamd >/dev/null 2>&1; then
    missing+=(spamd)
  fi
  if [[ " ${missing[*]} " == *" redmine "* ]]; then
    # dbconfig-common asks which database Redmine should use: SQLite, without a question.
    as_root debconf-set-selections <<'EOF'
redmine redmine/instances/default/dbconfig-install boolean true
redmine redmine/instances/default/database-type select sqlite3
redmine redmine/instances/default/db/basepath string /var/lib/dbconfig-common/sqlite3/redmine/instances/default
redmine redmine/instances/default/db/dbname string redmine_default
EOF
  fi
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi
python3 -c 'import sys; sys.exit(sys.version_info < (3, 11))' || {
  echo "mailbot needs Python 3.11 or newer; this python3 is $(python3 --version)" >&2; exit 1; }

if [ ! -x .venv/bin/python ]; then
  say "creating the virtual environment in .venv"
  python3 -m venv .venv
fi
say "installing mailbot and its dependencies"
# pip's output goes to a log, shown only when something fails: a set-up that works is quiet.
pip_log=.venv/pip-install.log
extra=""; [ "$what" = test ] && extra="[test]"
if ! { .venv/bin/python -m pip install --disable-pip-version-check -q --upgrade pip &&
       .venv/bin/python -m pip install --disable-pip-version-check -q -e ".${extra}"; } \
       >"$pip_log" 2>&1 ||
   ! .venv/bin/python -c 'import mailbot, spacy, imapclient, mailparser' >>"$pip_log" 2>&1; then
  cat "$pip_log" >&2
  echo "the installation failed: pip's output is above (and in $pip_log)" >&2
  exit 1
fi

# Bytecode for mailbot's own modules, as pip writes it for a regular install: where Python
# writes none itself (PYTHONDONTWRITEBYTECODE, as container images often set), every
# process (the daemon, each parse helper and courier, each command) would compile them again.
.venv/bin/python -m compileall -q mailbot >>"$pip_log" 2>&1 || true

if [ "$what" = demo ]; then
  say "running the demo"
  exec .venv/bin/mailbot demo
fi

say "lint (ruff)"
.venv/bin/ruff check .

# Tests run side by side in one worker per core (pytest-xdist); a module's tests that share
# an expensive server (Redmine, the built wheel) stay on one worker (xdist_group).
# MAILBOT_TEST_WORKERS=0 runs them one after another in this process.
run_pytest() {
  set +e
  .venv/bin/python -m pytest -n "${MAILBOT_TEST_WORKERS:-auto}" --dist loadgroup "$@"
  local status=$?
  set -e
  if [ $status -eq 5 ]; then
    echo "pytest collected no tests: that is a failure, not a pass" >&2
    return 1
  fi
  return $status
}

# PostgreSQL for the second pass: $MAILBOT_TEST_DATABASE_URL, else a local server that answers;
# in CI (CI=true) install and start Debian's postgresql when none answers.
pg_answers() {
  .venv/bin/python - "$1" <<'PY' >/dev/null 2>&1
import sys
import sqlalchemy
engine = sqlalchemy.create_engine(sys.argv[1], connect_args={"connect_timeout": 3})
with engine.connect() as conn:
    conn.execute(sqlalchemy.text("SELECT 1"))
PY
}
pg_url="${MAILBOT_TEST_DATABASE_URL:-}"
if [ -z "$pg_url" ]; then
  for candidate in "postgresql+psycopg://postgres@127.0.0.1:5432/postgres" \
                   "postgresql+psycopg://root@/postgres?host=/var/run/postgresql"; do
    if pg_answers "$candidate"; then pg_url="$candidate"; break; fi
  done
fi
if [ -z "$pg_url" ] && [ "${CI:-}" = true ]; then
  say "installing PostgreSQL for the second test pass"
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
  version=$(ls /etc/postgresql | sort -n | tail -1)
  as_root pg_ctlcluster --skip-systemctl-redirect "$version" main start || true
  as_root su postgres -c "createuser -s $(id -un)" 2>/dev/null || true
  pg_url="postgresql+psycopg://$(id -un)@/postgres?host=/var/run/postgresql"
  pg_answers "$pg_url" || { echo "PostgreSQL did not start" >&2; exit 1; }
fi

say "tests (pytest) on SQLite"
run_pytest "${@:2}"
if [ -n "$pg_url" ]; then
  say "tests (pytest) on PostgreSQL"
  MAILBOT_TEST_DATABASE_URL="$pg_url" run_pytest "${@:2}"
else
  say "no PostgreSQL server answered: the PostgreSQL pass is skipped (set MAILBOT_TEST_DATABASE_URL)"
fi
