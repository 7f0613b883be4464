"""./scripts/run.sh: DEBUG only where nobody else can reach the server, and demo logins that never
overwrite an account that exists."""

import io
import json
import subprocess

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command

from events.roles import EDITORS
from tests.support.processes import ROOT

RUN_SCRIPT = ROOT / "scripts" / "run.sh"


def debug_decision(host: str, debug: str = "") -> subprocess.CompletedProcess:
    """The script's own function, sourced (sourcing runs nothing else)."""
    return subprocess.run(
        ["bash", "-c", 'source "$1" && debug_for_host "$2" "$3"', "test", str(RUN_SCRIPT), host, debug],
        capture_output=True,
        text=True,
        check=False,
    )


@pytest.mark.parametrize("host", ["127.0.0.1", "127.0.1.1", "localhost", "::1"])
def test_debug_is_on_by_default_on_a_loopback_address(host):
    result = debug_decision(host)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "true"


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "192.168.1.20", "news.example"])
def test_debug_is_off_on_any_other_address(host):
    result = debug_decision(host)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "false"


def test_asking_for_debug_on_an_open_address_stops_the_start():
    result = debug_decision("0.0.0.0", "true")
    assert result.returncode != 0
    assert "only allowed on a loopback address" in result.stderr and "0.0.0.0" in result.stderr
    assert debug_decision("127.0.0.1", "false").stdout.strip() == "false"


@pytest.fixture
def data_dir(settings, tmp_path):
    settings.DATA_DIR = tmp_path
    return tmp_path


@pytest.mark.django_db
def test_running_the_demo_setup_again_changes_no_password(data_dir, roles):
    call_command("bootstrap_demo", stdout=io.StringIO())
    users = get_user_model().objects.filter(username__in=["journalist", "editor"])
    first = {user.username: user.password for user in users}
    logins = json.loads((data_dir / "demo-logins.json").read_text())

    (data_dir / "demo-logins.json").unlink()  # even with the printed logins gone
    call_command("bootstrap_demo", stdout=io.StringIO())

    assert {user.username: user.password for user in users.all()} == first
    assert set(first) == {"journalist", "editor"}
    assert get_user_model().objects.get(username="editor").check_password(logins["editor"])


@pytest.mark.django_db
def test_an_existing_account_with_a_demo_name_is_left_alone(data_dir, roles, capsys):
    owner = get_user_model().objects.create_user("editor", password="the-owners-own-password")
    call_command("bootstrap_demo")

    owner.refresh_from_db()
    assert owner.check_password("the-owners-own-password")
    assert not owner.is_staff and not owner.groups.filter(name=EDITORS).exists()
    out = capsys.readouterr().out
    assert "an existing account: its password is not changed" in out
    assert "editor" not in json.loads((data_dir / "demo-logins.json").read_text())
