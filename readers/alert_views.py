"""The alerts' endpoints, each a JSON POST from the event page's script or the service worker (subscribe,
unsubscribe, ask) with the CSRF token it fetched first (the page itself is cached for everyone, so it carries
none), and the service worker itself at the site's root."""

import json
import time
from functools import cache
from pathlib import Path

from django.conf import settings
from django.core.cache import cache as shared_cache
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.middleware.csrf import get_token
from django.utils.cache import add_never_cache_headers, patch_cache_control
from django.utils.translation import gettext
from django.views.decorators.http import require_POST, require_safe

from readers import alerts, webpush
from readers.middleware import reader_page

BODY_MAX_BYTES = 4096
SERVICE_WORKER = Path(__file__).resolve().parent / "static" / "readers" / "push-sw.js"


def _client_ip(request: HttpRequest) -> str:
    """Behind our proxy the last X-Forwarded-For address (the one it appended), else the peer's."""
    if settings.BEHIND_PROXY:
        last = request.META.get("HTTP_X_FORWARDED_FOR", "").rsplit(",", 1)[-1].strip()
        if last:
            return last
    return request.META.get("REMOTE_ADDR") or "unknown"


def _within_rate(request: HttpRequest) -> bool:
    key = f"alerts:rate:{_client_ip(request)}:{int(time.time() // 60)}"
    shared_cache.add(key, 0, 120)
    try:
        return shared_cache.incr(key) <= settings.PUSH_SUBSCRIBE_PER_MINUTE
    except ValueError:  # expired between add and incr: a new minute
        return True


def _refusal(refused: alerts.Refused) -> JsonResponse:
    response = JsonResponse({"error": refused.message}, status=refused.status)
    if refused.status == 429:
        response["Retry-After"] = "60"
    add_never_cache_headers(response)
    return response


def _answer(data: dict, status: int = 200) -> JsonResponse:
    response = JsonResponse(data, status=status)
    add_never_cache_headers(response)
    return response


def _read(request: HttpRequest) -> object:
    """The request's JSON, once within the rate limit and the size bound (Django's CSRF check came first)."""
    if not _within_rate(request):
        raise alerts.Refused(429, gettext("Too many requests: try again in a minute."))
    if request.content_type != "application/json":
        raise alerts.Refused(415, gettext("Send JSON."))
    length = request.META.get("CONTENT_LENGTH") or "0"
    if not length.isdigit() or int(length) > BODY_MAX_BYTES:
        raise alerts.Refused(413, gettext("The request is too large."))
    try:
        return json.loads(request.body)
    except (ValueError, UnicodeDecodeError):
        raise alerts.Refused(400, gettext("The request is not JSON.")) from None


@require_POST
def subscribe(request: HttpRequest, slug: str) -> JsonResponse:
    if webpush.server_keys() is None:
        return _refusal(alerts.Refused(503, gettext("Alerts are not available on this site.")))
    try:
        created = alerts.subscribe(slug, _read(request))
    except alerts.Refused as refused:
        return _refusal(refused)
    return _answer({"subscribed": True}, status=201 if created else 200)


@require_POST
def unsubscribe(request: HttpRequest, slug: str) -> JsonResponse:
    try:
        remaining = alerts.unsubscribe(slug, _read(request))
    except alerts.Refused as refused:
        return _refusal(refused)
    return _answer({"subscribed": False, "remaining": remaining})


@require_POST
def status(request: HttpRequest, slug: str) -> JsonResponse:
    try:
        subscribed = alerts.is_subscribed(slug, _read(request))
    except alerts.Refused as refused:
        return _refusal(refused)
    return _answer({"subscribed": subscribed})


@require_safe
def token(request: HttpRequest) -> JsonResponse:
    """A CSRF token (and its cookie) for the alerts' posts, fetched on the reader's click, never cached."""
    return _answer({"token": get_token(request)})


@cache
def _service_worker() -> bytes:
    return SERVICE_WORKER.read_bytes()


@reader_page
@require_safe
def service_worker(request: HttpRequest) -> HttpResponse:
    """push-sw.js from the root, so it may take the /events/ scope; revalidated, so an update reaches browsers."""
    response = HttpResponse(_service_worker(), content_type="text/javascript; charset=utf-8")
    patch_cache_control(response, no_cache=True, max_age=0)
    return response
