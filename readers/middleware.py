"""Readers' pages answered ahead of the session, CSRF, auth and messages middleware."""

from django.urls import Resolver404, resolve


def reader_page(view):
    """Marks a view whose GET answer is the same for every reader: it reads no session, user,
    CSRF token or messages, so ReaderPagesMiddleware may call it before that middleware runs."""
    view.reader_page = True
    return view


class ReaderPagesMiddleware:
    """Calls reader_page views straight away.

    Under ASGI, Django runs middleware after a sync-only one (WhiteNoise) in async mode, and
    async mode hands every process_request and process_response to a thread and back: for a
    cached page those hand-offs cost several times what the page does. Being sync only, this also
    keeps the middleware listed above it in the one thread the request starts on.
    """

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
