import os
import subprocess
import sys

import pytest
from django.core.exceptions import ImproperlyConfigured

from liveblog_site import env
from tests.support.processes import ROOT, settings_in_child


@pytest.mark.parametrize("raw", ["maybe", "2", "tru"])
def test_a_bad_boolean_fails_loudly(monkeypatch, raw):
    monkeypatch.setenv("X_BOOL", raw)
    with pytest.raises(ImproperlyConfigured, match="X_BOOL"):
        env.env_bool("X_BOOL", False)


@pytest.mark.parametrize(("raw", "expected"), [("true", True), ("0", False), ("Yes", True), ("", False)])
def test_booleans_read_the_usual_spellings(monkeypatch, raw, expected):
    monkeypatch.setenv("X_BOOL", raw)
    assert env.env_bool("X_BOOL", False) is expected


def test_a_bad_integer_fails_loudly(monkeypatch):
    monkeypatch.setenv("X_INT", "thirty")
    with pytest.raises(ImproperlyConfigured, match="integer"):
        env.env_int("X_INT", 30)
    monkeypatch.setenv("X_INT", "2")
    with pytest.raises(ImproperlyConfigured, match="at least 5"):
        env.env_int("X_INT", 30, minimum=5)


def test_a_choice_outside_the_list_fails(monkeypatch):
    monkeypatch.setenv("MAVERA_ENDPOINT", "chat")
    with pytest.raises(ImproperlyConfigured, match="generations, responses"):
        env.env_choice("MAVERA_ENDPOINT", "generations", ("generations", "responses"))


def test_a_url_with_the_wrong_scheme_fails(monkeypatch):
    monkeypatch.setenv("REDIS_URL", "http://localhost:6379")
    with pytest.raises(ImproperlyConfigured, match="REDIS_URL"):
        env.env_url("REDIS_URL", "", schemes=("redis", "rediss"))


def test_the_embedded_default_needs_no_server():
    result = settings_in_child(
        {}, "s.DATABASES['default']['ENGINE'], s.CELERY_BROKER_URL, s.CHANNEL_LAYERS['default']['BACKEND'], s.DEBUG"
    )
    assert result.returncode == 0, result.stderr
    assert "sqlite3" in result.stdout and "filesystem://" in result.stdout and "InMemoryChannelLayer" in result.stdout
    assert "False" in result.stdout


def test_scale_out_uses_redis_and_postgres():
    result = settings_in_child(
        {"REDIS_URL": "redis://127.0.0.1:6379/3", "DATABASE_URL": "postgres://u@db.example:5432/news"},
        "s.DATABASES['default']['ENGINE'], s.CELERY_BROKER_URL, s.CHANNEL_LAYERS['default']['BACKEND']",
    )
    assert result.returncode == 0, result.stderr
    assert "postgresql" in result.stdout and "redis://127.0.0.1:6379/3" in result.stdout
    assert "channels_redis" in result.stdout


def test_bad_environment_stops_the_start():
    result = settings_in_child({"DEBUG": "perhaps"}, "s.DEBUG")
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr and "DEBUG" in result.stderr


def test_production_settings_pass_the_deploy_check():
    child_env = {k: v for k, v in os.environ.items() if k not in {"DEBUG", "HTTPS", "DJANGO_ALLOW_ASYNC_UNSAFE"}}
    child_env.update({"SECRET_KEY": "k" * 20 + "-production-secret-" + "z" * 30, "ALLOWED_HOSTS": "news.example"})
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=child_env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_a_short_production_secret_is_refused():
    result = settings_in_child({"SECRET_KEY": "short"}, "s.SECRET_KEY")
    assert result.returncode != 0 and "SECRET_KEY" in result.stderr


def test_no_pending_migrations():
    result = subprocess.run(
        [sys.executable, "manage.py", "makemigrations", "--check", "--dry-run"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_a_standard_sqlite_url_names_the_database_file(tmp_path):
    database = tmp_path / "elsewhere.sqlite3"
    result = settings_in_child(
        {"DATABASE_URL": f"sqlite:///{database}"},
        "s.DATABASES['default']['ENGINE'], s.DATABASES['default']['NAME'], "
        "s.DATABASES['default']['OPTIONS']['transaction_mode'], "
        "__import__('django.db').db.connection.ensure_connection()",
    )
    assert result.returncode == 0, result.stderr
    assert "sqlite3" in result.stdout and str(database) in result.stdout and "IMMEDIATE" in result.stdout
    assert database.exists()


def test_a_sqlite_url_without_a_path_is_refused():
    result = settings_in_child({"DATABASE_URL": "sqlite://"}, "s.DATABASES")
    assert result.returncode != 0 and "DATABASE_URL must be a postgres/postgresql/sqlite URL" in result.stderr


def test_hsts_binds_subdomains_and_preload_lists_only_when_asked():
    production = {"SECRET_KEY": "k" * 60, "ALLOWED_HOSTS": "news.example"}
    result = settings_in_child(
        production, "s.SECURE_HSTS_SECONDS, s.SECURE_HSTS_INCLUDE_SUBDOMAINS, s.SECURE_HSTS_PRELOAD"
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["31536000", "False", "False"]

    asked = {**production, "SECURE_HSTS_INCLUDE_SUBDOMAINS": "true", "SECURE_HSTS_PRELOAD": "true"}
    result = settings_in_child(asked, "s.SECURE_HSTS_INCLUDE_SUBDOMAINS, s.SECURE_HSTS_PRELOAD")
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["True", "True"]


def test_the_backends_follow_the_keys_unless_a_setting_names_them():
    expression = "s.SPEECH_BACKEND, s.DRAFTER"
    default = settings_in_child({"DEEPGRAM_API_KEY": "", "MAVERA_API_KEY": ""}, expression)
    assert default.stdout.split() == [
        "transcription.speech.offline.OfflineBackend",
        "publishing.drafters.offline.OfflineDrafter",
    ]
    keyed = settings_in_child({"DEEPGRAM_API_KEY": "dg", "MAVERA_API_KEY": "mv"}, expression)
    assert keyed.stdout.split() == [
        "transcription.speech.deepgram.DeepgramBackend",
        "publishing.drafters.mavera.MaveraDrafter",
    ]
    named = settings_in_child(
        {"DEEPGRAM_API_KEY": "dg", "SPEECH_BACKEND": "my.Speech", "MAVERA_API_KEY": "mv", "DRAFTER": "my.Drafter"},
        expression,
    )
    assert named.stdout.split() == ["my.Speech", "my.Drafter"], named.stderr


def _prepare_in_child(data_dir) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in {"REDIS_URL", "DATABASE_URL", "SECRET_KEY"}}
    env["LIVEBLOG_DATA_DIR"] = str(data_dir)
    return subprocess.run(
        [sys.executable, "-m", "liveblog_site.datadir"], cwd=ROOT, env=env, capture_output=True, text=True, check=False
    )


def test_reading_the_settings_creates_no_folder_and_writes_no_file(tmp_path):
    missing, empty = tmp_path / "missing", tmp_path / "empty"
    empty.mkdir()
    production = {"SECRET_KEY": "k" * 60, "ALLOWED_HOSTS": "news.example"}
    code = "from liveblog_site import settings as s; print(s.DATA_DIR, s.STATIC_ROOT, s.CELERY_BROKER_URL)"
    for data_dir in (missing, empty):
        env = {k: v for k, v in os.environ.items() if k not in {"REDIS_URL", "DATABASE_URL", "DEBUG", "HTTPS"}}
        env.update(production, LIVEBLOG_DATA_DIR=str(data_dir))
        result = subprocess.run(
            [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, check=False
        )
        assert result.returncode == 0, result.stderr
        assert result.stdout.split() == [str(data_dir), str(data_dir / "static"), "filesystem://"]
    assert not missing.exists()
    assert list(empty.iterdir()) == []


def test_without_a_key_the_settings_say_how_to_make_one(tmp_path):
    result = settings_in_child({"LIVEBLOG_DATA_DIR": str(tmp_path)}, "s.SECRET_KEY")
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert f"no key file at {tmp_path / 'secret_key'}" in result.stderr
    assert "python -m liveblog_site.datadir" in result.stderr
    assert list(tmp_path.iterdir()) == []


def test_the_run_commands_first_step_makes_the_folders_and_a_key_that_lasts(tmp_path):
    data_dir = tmp_path / "data"
    first = _prepare_in_child(data_dir)
    assert first.returncode == 0, first.stderr
    key_file = data_dir / "secret_key"
    key = key_file.read_text()
    assert len(key) >= 50 and key_file.stat().st_mode & 0o777 == 0o600
    for folder in ("broker/in", "broker/processed", "broker/control", "static"):
        assert (data_dir / folder).is_dir(), folder

    again = _prepare_in_child(data_dir)
    assert again.returncode == 0, again.stderr
    assert key_file.read_text() == key
    result = settings_in_child({"LIVEBLOG_DATA_DIR": str(data_dir)}, "s.SECRET_KEY")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == key
