# Sourced by the test script: make sure Redis and PostgreSQL answer on loopback, starting them if not.
port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }

if ! port_open 6379; then
  echo "Starting redis-server on 127.0.0.1:6379"
  redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no \
    --dir /tmp --logfile /tmp/liveblog-redis.log
fi

pg_version=$(ls /etc/postgresql 2>/dev/null | sort -n | tail -n 1)
if ! port_open 5432; then
  echo "Starting PostgreSQL $pg_version on 127.0.0.1:5432"
  as_root pg_ctlcluster --skip-systemctl-redirect "$pg_version" main start
fi
for _ in $(seq 1 30); do port_open 6379 && port_open 5432 && break; sleep 1; done
port_open 6379 || { echo "Redis did not come up on 6379" >&2; exit 1; }
port_open 5432 || { echo "PostgreSQL did not come up on 5432" >&2; exit 1; }

# The tests connect as postgres over loopback without a password: a fresh Debian cluster asks for
# one, so trust loopback for that user (test machines only).
if ! psql -h 127.0.0.1 -U postgres -d postgres -Atc "select 1" >/dev/null 2>&1; then
  hba="/etc/postgresql/$pg_version/main/pg_hba.conf"
  echo "Trusting postgres@127.0.0.1 in $hba for the tests"
  as_root sed -i '1i host all postgres 127.0.0.1/32 trust # liveblog-tests' "$hba"
  as_root pg_ctlcluster --skip-systemctl-redirect "$pg_version" main reload
  sleep 1
  psql -h 127.0.0.1 -U postgres -d postgres -Atc "select 1" >/dev/null ||
    { echo "Cannot connect to PostgreSQL as postgres@127.0.0.1" >&2; exit 1; }
fi
