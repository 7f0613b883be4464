"""Readers' pages answered ahead of the session, CSRF, auth and messages middleware."""

from django.urls import Resolver404, resolve


def reader_page(view):
    """Marks a view whose GET answer is the same for every reader: it reads no session, user,
    CSRF token or messages, so ReaderPagesMiddleware may call it before that middleware runs."""
    view.reader_page = True
    return view


class ReaderPagesMiddleware:
    """Calls reader_page views straight away. Sync only: after WhiteNoise, async middleware would hand every
    process_request and process_response to a thread and back, costing a cached page more than it does."""

    sync_capable = True
    async_capable = False

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.method not in ("GET", "HEAD"):  # anything else meets CSRF as before
            return self.get_response(request)
        try:
            match = resolve(request.path_info)
        except Resolver404:
            return self.get_response(request)
        if not getattr(match.func, "reader_page", False):
            return self.get_response(request)
        request.resolver_match = match
        return match.func(request, *match.args, **match.kwargs)
