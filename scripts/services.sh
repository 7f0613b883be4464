# Sourced by the test script: make sure Redis and PostgreSQL answer on loopback, starting them if not.
port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

if ! port_open 6379; then
  echo "Starting redis-server on 127.0.0.1:6379"
  redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no \
    --dir /tmp --logfile /tmp/liveblog-redis.log
fi
if ! port_open 5432; then
  echo "Starting PostgreSQL on 127.0.0.1:5432"
  version=$(ls /etc/postgresql | sort -n | tail -n 1)
  conf="/etc/postgresql/$version/main"
  # Local trust on loopback for the test user only; a real deployment sets its own.
  grep -q "liveblog-tests" "$conf/pg_hba.conf" ||
    sed -i '1i host all postgres 127.0.0.1/32 trust # liveblog-tests' "$conf/pg_hba.conf"
  pg_ctlcluster --skip-systemctl-redirect "$version" main start
fi
for _ in $(seq 1 30); do port_open 6379 && port_open 5432 && break; sleep 1; done
port_open 6379 || { echo "Redis did not come up on 6379" >&2; exit 1; }
port_open 5432 || { echo "PostgreSQL did not come up on 5432" >&2; exit 1; }
