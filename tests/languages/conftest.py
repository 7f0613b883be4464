import pytest
from celery import current_app

import publishing.tasks  # noqa: F401  (registers the tasks the worker fixture runs)


@pytest.fixture
def worker(monkeypatch):
    """Tasks sent to the broker run at once, here, as the worker runs them; returns what was sent."""
    app = current_app._get_current_object()
    sent = []

    def send_task(name, args=(), **kwargs):
        sent.append((name, tuple(args)))
        app.tasks[name].apply(args=args, throw=True)

    monkeypatch.setattr(app, "send_task", send_task)
    return sent
