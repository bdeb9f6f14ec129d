# Shared by scripts/start and scripts/test: make sure this machine can build and
# reach PostgreSQL, installing or starting what is missing, or say what to do.

need_libpq() {
  # Diesel's postgres backend links the system libpq.
  if ! ldconfig -p 2>/dev/null | grep -q 'libpq\.so ' && [[ ! -e /usr/lib/x86_64-linux-gnu/libpq.so ]]; then
    echo "==> installing libpq-dev (needed to link Diesel's PostgreSQL backend)"
    if [[ $(id -u) == 0 ]] && command -v apt-get >/dev/null; then
      apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq libpq-dev >/dev/null
    else
      echo "error: libpq is missing; install it with: sudo apt-get install libpq-dev" >&2
      exit 1
    fi
  fi
}

pg_reachable() {
  local host=${PGHOST_CHECK:-127.0.0.1} port=${PGPORT_CHECK:-5432}
  if command -v pg_isready >/dev/null; then
    pg_isready -q -h "$host" -p "$port"
  else
    (exec 3<>"/dev/tcp/$host/$port") 2>/dev/null
  fi
}

need_postgres() {
  if pg_reachable; then return 0; fi
  echo "==> PostgreSQL is not answering on 127.0.0.1:5432; trying to start it"
  if command -v pg_ctlcluster >/dev/null && [[ -d /etc/postgresql ]]; then
    pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | sort -V | tail -1)" main start || true
    for _ in $(seq 1 30); do pg_reachable && return 0; sleep 0.5; done
  fi
  cat >&2 <<'MSG'
error: PostgreSQL is not reachable on 127.0.0.1:5432.
  Start it with:  pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start
  or install it:  apt-get install postgresql
  or point DATABASE_URL (the app) and CC_TEST_DATABASE_URL (the tests) at a server you can reach.
MSG
  exit 1
}
