"""Glue for the security libraries: which address a login attempt comes from (axes), and which
pages may be framed (django-csp)."""

from datetime import timedelta

from axes.helpers import get_client_username
from csp.constants import HEADER
from csp.middleware import CSPMiddleware, PolicyParts
from csp.utils import build_policy
from django.conf import settings
from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import render
from django.utils.functional import cached_property


def client_ip(request: HttpRequest) -> str | None:
    """The address login failures are counted against: behind our proxy the last in X-Forwarded-For, the one
    it appended (the client wrote the rest, and could vary it to dodge a lockout); else REMOTE_ADDR."""
    if settings.BEHIND_PROXY:
        forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
        last = forwarded.rsplit(",", 1)[-1].strip()
        if last:
            return last
    return request.META.get("REMOTE_ADDR") or None


def lockout_response(request: HttpRequest, *args: object) -> HttpResponse:
    """What a locked-out login attempt gets (axes calls it with the response and credentials it
    has, which this page does not need): who is locked out, why, and when to try again."""
    context = {
        "username": get_client_username(request) or "",
        "failure_limit": settings.AXES_FAILURE_LIMIT,
        "minutes": settings.AXES_COOLOFF_TIME // timedelta(minutes=1),
    }
    return render(request, "registration/locked_out.html", context, status=429)


class ContentSecurityPolicyMiddleware(CSPMiddleware):
    """django-csp's middleware, with frame-ancestors opened exactly where the view lets X-Frame-Options go
    (xframe_options_exempt); the settings' policy, which most answers take, is built once per process."""

    _PER_ANSWER = ("_csp_config", "_csp_update", "_csp_replace", "_csp_exempt", "xframe_options_exempt")

    @cached_property
    def _settings_policy(self) -> str:
        return build_policy()

    def process_response(self, request: HttpRequest, response: HttpResponseBase) -> HttpResponseBase:
        plain = (
            not any(getattr(response, name, False) for name in self._PER_ANSWER)
            and getattr(request, "_csp_nonce", None) is None
            and not settings.DEBUG
            and not getattr(settings, "CONTENT_SECURITY_POLICY_REPORT_ONLY", None)
        )
        if plain:
            response.headers.setdefault(HEADER, self._settings_policy)
            return response
        return super().process_response(request, response)

    def get_policy_parts(
        self, request: HttpRequest, response: HttpResponseBase, report_only: bool = False
    ) -> PolicyParts:
        parts = super().get_policy_parts(request, response, report_only)
        if getattr(response, "xframe_options_exempt", False):
            parts.replace = {**(parts.replace or {}), "frame-ancestors": ["*"]}
        return parts
