import os

import pytest
from django.contrib.auth.models import Group
from django.core.cache import cache
from django.test import override_settings
from playwright.sync_api import sync_playwright

from events.roles import EDITORS, JOURNALISTS, create_roles
from tests.support.browser import launch
from tests.support.emulators.mavera import MaveraEmulator
from tests.support.factories import live_event
from tests.support.processes import empty_broker_queue, start_daphne


@pytest.fixture(autouse=True)
def _scaleout_needs_servers(request):
    # A scale-out test without its servers fails loudly; it never skips.
    if request.node.get_closest_marker("scaleout") and not (
        os.environ.get("REDIS_URL") and os.environ.get("DATABASE_URL")
    ):
        pytest.fail("scale-out test needs REDIS_URL and DATABASE_URL: run scripts/test.sh")


@pytest.fixture(scope="session", autouse=True)
def _quick_password_hashing():
    with override_settings(PASSWORD_HASHERS=["tests.support.hashers.QuickPBKDF2PasswordHasher"]):
        yield


@pytest.fixture(scope="module")
def orm_beside_event_loop():
    """Playwright's sync API (or a test's own asyncio client) keeps an event loop on the test thread, and
    Django then refuses plain ORM calls made beside it, the database teardown's included. Allowed for
    this module in this process only: child processes never inherit it (tests.support.processes.child_env)."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
        yield


@pytest.fixture(scope="module", autouse=True)
def _browser_tests_use_the_orm_beside_playwright(request):
    if request.node.get_closest_marker("browser"):
        request.getfixturevalue("orm_beside_event_loop")


@pytest.fixture
def roles(django_user_model):
    # A transactional test's flush empties auth tables; the roles migration's groups go with them.
    create_roles()


@pytest.fixture
def fresh_roles(transactional_db):
    """For a transactional test: the roles again (an earlier flush dropped them) and an empty cache
    (no studio lease or cached page left by an earlier test)."""
    cache.clear()
    create_roles()


@pytest.fixture
def broker_left_empty():
    """Afterwards, the broker's queue emptied: what the test's claims and publishes enqueued names rows its flush
    or rollback deletes, and no later worker should get them."""
    yield
    empty_broker_queue()


@pytest.fixture
def fresh_publishing(fresh_roles, broker_left_empty):
    """fresh_roles for a test that publishes; afterwards the cache and the broker's queue left empty."""
    yield
    cache.clear()


@pytest.fixture
def media(settings, tmp_path):
    """This test's own MEDIA_ROOT (the audio archive), empty."""
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


@pytest.fixture
async def deepgram(settings):
    """The Deepgram emulator on loopback, with the settings pointing our client at it."""
    from tests.support.emulators.deepgram import Emulator, Script

    async with Emulator(Script(api_key="dg-test-key")) as emulator:
        settings.SPEECH_BACKEND = "transcription.speech.deepgram.DeepgramBackend"
        settings.DEEPGRAM_API_KEY = "dg-test-key"
        settings.DEEPGRAM_URL = emulator.url
        yield emulator


@pytest.fixture
def journalist(django_user_model, roles):
    user = django_user_model.objects.create_user("jo", password="jo-password-123")
    user.groups.add(Group.objects.get(name=JOURNALISTS))
    return user


@pytest.fixture
def other_journalist(django_user_model, roles):
    user = django_user_model.objects.create_user("other", password="other-password-123")
    user.groups.add(Group.objects.get(name=JOURNALISTS))
    return user


@pytest.fixture
def editor(django_user_model, roles):
    user = django_user_model.objects.create_user("ed", password="ed-password-123", is_staff=True)
    user.groups.add(Group.objects.get(name=EDITORS))
    return user


@pytest.fixture
def reader(django_user_model):
    return django_user_model.objects.create_user("reader", password="reader-password-123")


@pytest.fixture
def event(journalist):
    return live_event(journalist, title="Keynote", slug="keynote", glossary="Ada Lovelace\nLiveblog")


@pytest.fixture(scope="module")
def microphone():
    """The WAV a module's browser plays as its fake microphone: none, unless the module overrides this fixture."""
    return None


@pytest.fixture(scope="module")
def browser(microphone):
    """A headless Chromium for a module's page tests, with the module's `microphone` if it has one."""
    with sync_playwright() as playwright:
        browser = launch(playwright, microphone=microphone)
        yield browser
        browser.close()


@pytest.fixture(scope="module")
def daphne(django_db_setup):
    """A real Daphne on a free port serving this test database, for a module; its log must hold no traceback."""
    process, port = start_daphne()
    yield f"http://127.0.0.1:{port}"
    process.stop()
    process.assert_no_traceback()


@pytest.fixture
def mavera(settings):
    """The Mavera emulator on loopback, billing its default credits a call, with the settings pointing our
    drafter at it (modules that need another set-up define their own)."""
    with MaveraEmulator() as emulator:
        settings.DRAFTER = "publishing.drafters.mavera.MaveraDrafter"
        settings.MAVERA_API_KEY = "mvra_live_test"
        settings.MAVERA_BASE_URL = emulator.base_url
        settings.MAVERA_ENDPOINT = "generations"
        settings.MAVERA_APP_ID = ""
        settings.MAVERA_BACKOFF_SECONDS = 0.01
        settings.MAVERA_MAX_CREDITS_PER_CALL = emulator.credits_per_call
        yield emulator


@pytest.fixture
def worker(monkeypatch):
    """Tasks sent to the broker run at once, here, as the worker runs them; returns what was sent."""
    from celery import current_app

    import publishing.tasks  # noqa: F401  (registers the tasks a post's publish sends)

    app = current_app._get_current_object()
    sent = []

    def send_task(name, args=(), **kwargs):
        sent.append((name, tuple(args)))
        app.tasks[name].apply(args=args, throw=True)

    monkeypatch.setattr(app, "send_task", send_task)
    return sent
