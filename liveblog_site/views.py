"""The site's own views: the health check load balancers call."""

from django.http import JsonResponse
from django.utils.cache import add_never_cache_headers

from liveblog_site.health import public_report, run_checks


def healthz(request):
    checks = run_checks()
    healthy = all(check["ok"] for check in checks.values())
    response = JsonResponse({"ok": healthy, "checks": public_report(checks)}, status=200 if healthy else 503)
    add_never_cache_headers(response)
    return response
