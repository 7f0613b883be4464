"""Login guessing: an account and address pair is locked out after a handful of wrong passwords,
on both login forms, and only that pair; the lockout is logged."""

import logging
import re

import httpx
import pytest
from django.conf import settings
from django.test import Client

from tests.support.processes import start_daphne

pytestmark = pytest.mark.django_db

ATTACKER = "203.0.113.7"
COLLEAGUE = "198.51.100.20"
LOGIN_FORMS = ("/accounts/login/", "/admin/login/")


def attempt(client: Client, url: str, username: str, password: str, address: str):
    return client.post(url, {"username": username, "password": password}, REMOTE_ADDR=address)


def guess(client: Client, url: str, username: str, address: str, times: int) -> list[int]:
    return [attempt(client, url, username, f"guess-{n}", address).status_code for n in range(times)]


@pytest.mark.parametrize("url", LOGIN_FORMS)
def test_the_right_password_is_refused_after_too_many_wrong_ones(url, editor, caplog):
    client = Client()
    with caplog.at_level(logging.WARNING, logger="axes"):
        statuses = guess(client, url, "ed", ATTACKER, settings.AXES_FAILURE_LIMIT)
        refused = attempt(client, url, "ed", "ed-password-123", ATTACKER)

    assert statuses[:-1] == [200] * (settings.AXES_FAILURE_LIMIT - 1)  # the form again, with its error
    assert refused.status_code == 429
    page = refused.content.decode()
    assert "Too many failed logins" in page
    assert re.search(r"Try again in \d+ minutes", page)
    assert "_auth_user_id" not in client.session
    lockouts = [record.getMessage() for record in caplog.records if "Locking out" in record.getMessage()]
    assert lockouts and '"ed"' in lockouts[0] and ATTACKER in lockouts[0]


@pytest.mark.parametrize("url", LOGIN_FORMS)
def test_another_address_or_another_account_is_not_locked(url, editor, django_user_model):
    colleague = django_user_model.objects.create_user("ed2", password="ed2-password-123", is_staff=True)
    guess(Client(), url, "ed", ATTACKER, settings.AXES_FAILURE_LIMIT)

    from_elsewhere = Client()
    assert attempt(from_elsewhere, url, "ed", "ed-password-123", COLLEAGUE).status_code == 302
    assert from_elsewhere.session["_auth_user_id"] == str(editor.pk)

    other_account = Client()
    assert attempt(other_account, url, "ed2", "ed2-password-123", ATTACKER).status_code == 302
    assert other_account.session["_auth_user_id"] == str(colleague.pk)


def test_fewer_failures_than_the_limit_do_not_lock(editor):
    client = Client()
    guess(client, "/accounts/login/", "ed", ATTACKER, settings.AXES_FAILURE_LIMIT - 1)
    assert attempt(client, "/accounts/login/", "ed", "ed-password-123", ATTACKER).status_code == 302


def test_behind_a_proxy_the_address_is_the_one_the_proxy_appended(editor, settings):
    """A client can write anything left of the proxy's entry in X-Forwarded-For; varying it must
    not buy fresh guesses. Without a proxy the header is not trusted at all."""
    settings.BEHIND_PROXY = True
    client = Client()
    for n in range(settings.AXES_FAILURE_LIMIT):
        client.post(
            "/accounts/login/",
            {"username": "ed", "password": "wrong"},
            REMOTE_ADDR="10.0.0.2",
            HTTP_X_FORWARDED_FOR=f"192.0.2.{n}, {ATTACKER}",
        )
    spoofed = client.post(
        "/accounts/login/",
        {"username": "ed", "password": "ed-password-123"},
        REMOTE_ADDR="10.0.0.2",
        HTTP_X_FORWARDED_FOR=f"192.0.2.99, {ATTACKER}",
    )
    assert spoofed.status_code == 429

    settings.BEHIND_PROXY = False
    direct = client.post(
        "/accounts/login/",
        {"username": "ed", "password": "ed-password-123"},
        REMOTE_ADDR=COLLEAGUE,
        HTTP_X_FORWARDED_FOR=ATTACKER,
    )
    assert direct.status_code == 302


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_guessing_through_daphne_is_locked_out(fresh_roles, editor):
    """The attack as it was seen: wrong passwords posted to the admin's login over real HTTP."""
    process, port = start_daphne()
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}") as http:
            statuses = []
            for password in [f"guess-{n}" for n in range(settings.AXES_FAILURE_LIMIT)] + ["ed-password-123"]:
                form = http.get("/admin/login/")
                token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', form.text).group(1)
                answer = http.post(
                    "/admin/login/",
                    data={"csrfmiddlewaretoken": token, "username": "ed", "password": password},
                    headers={"Referer": f"http://127.0.0.1:{port}/admin/login/"},
                )
                statuses.append(answer.status_code)
            assert statuses == [200] * (settings.AXES_FAILURE_LIMIT - 1) + [429, 429]
            assert "Try again in" in answer.text
            assert "sessionid" not in http.cookies
        process.assert_no_traceback()
        assert "Locking out" in process.output()
    finally:
        process.stop()
