"""Where a bench runs: the embedded default, or the scale-out topology on PostgreSQL and Redis.

Scale-out benches take the servers from DATABASE_URL and REDIS_URL (else the local defaults below).
Of DATABASE_URL only the server is used: each run makes a database of its own there, named
`liveblog_bench_<purpose>_<random>`, and drops it at its end; it drops no database it did not make.
"""

import atexit
import os
import re
import secrets
import tempfile
from urllib.parse import urlsplit, urlunsplit

DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/postgres"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/5"
PREFIX = "liveblog_bench_"
OWN_NAME = re.compile(rf"^{PREFIX}[a-z0-9_]+_[0-9a-f]{{8}}$")

# Variables of the developer's shell that would point a bench's processes elsewhere.
FOREIGN = (
    "DATABASE_URL",
    "REDIS_URL",
    "SQLITE_PATH",
    "DEEPGRAM_API_KEY",
    "MAVERA_API_KEY",
    "SPEECH_BACKEND",
    "DRAFTER",
    "DJANGO_ALLOW_ASYNC_UNSAFE",
)

_made: set[str] = set()


def server_urls(database_url: str | None = None, redis_url: str | None = None) -> tuple[str, str]:
    """The PostgreSQL server and Redis to run on: given, else from the environment, else the local defaults."""
    database = database_url or os.environ.get("DATABASE_URL") or DEFAULT_DATABASE_URL
    if not database.startswith(("postgres://", "postgresql://")):
        raise SystemExit(f"the scale-out topology needs PostgreSQL; DATABASE_URL is {database.split(':')[0]}")
    return database, redis_url or os.environ.get("REDIS_URL") or DEFAULT_REDIS_URL


def _admin_url(url: str) -> str:
    return urlunsplit(urlsplit(url)._replace(path="/postgres"))


def make_database(server_url: str, purpose: str) -> str:
    """A new, empty database on the server of `server_url`, dropped at exit; its URL."""
    import psycopg

    name = f"{PREFIX}{re.sub(r'[^a-z0-9]+', '_', purpose.lower())}_{secrets.token_hex(4)}"
    with psycopg.connect(_admin_url(server_url), autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    _made.add(name)
    atexit.register(drop_database, server_url, name)
    return urlunsplit(urlsplit(server_url)._replace(path=f"/{name}"))


def drop_database(server_url: str, name: str) -> None:
    """Drops a database this process made; refuses any other name."""
    if name not in _made or not OWN_NAME.match(name):
        raise ValueError(f"refusing to drop {name!r}: this bench did not make it")
    import psycopg
    from django.db import connections

    connections.close_all()
    with psycopg.connect(_admin_url(server_url), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    _made.discard(name)


def configure(purpose: str, *, scale_out: bool, database_url: str | None = None, redis_url: str | None = None):
    """Point this process (and the children it starts) at a fresh bench installation: its own data folder
    and, scale-out, its own database on the PostgreSQL server and the Redis given. Returns the children's
    environment."""
    data = tempfile.mkdtemp(prefix=f"liveblog-bench-{purpose}-")
    env = {"LIVEBLOG_DATA_DIR": data, "HTTPS": "false", "DEBUG": "false", "LOG_LEVEL": "WARNING"}
    if scale_out:
        server, redis = server_urls(database_url, redis_url)
        env["DATABASE_URL"], env["REDIS_URL"] = make_database(server, purpose), redis
    for name in FOREIGN:
        os.environ.pop(name, None)
    os.environ.update(env)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "liveblog_site.settings")
    import django

    from liveblog_site.datadir import prepare

    prepare()
    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    return env


def describe(env: dict[str, str]) -> str:
    """One line: which topology, on which servers (no password)."""
    if "DATABASE_URL" not in env:
        return "embedded (SQLite, in-process channel layer, filesystem broker)"
    database, redis = urlsplit(env["DATABASE_URL"]), urlsplit(env["REDIS_URL"])
    return (
        f"scale-out (PostgreSQL {database.hostname}:{database.port or 5432}{database.path}, made for this run; "
        f"Redis {redis.hostname}:{redis.port or 6379}{redis.path})"
    )


def unique_slug(base: str) -> str:
    """A slug no earlier run used: cached pages and leases in a shared Redis never meet this run's."""
    return f"{base}-{secrets.token_hex(3)}"
