"""The newsroom's language: the person's own choice, else the set_language cookie, else the browser's.
Readers' pages set the event's language themselves (readers.views); this picks it for everything else."""

import re

from channels.db import database_sync_to_async
from django.conf import settings
from django.http import Http404
from django.middleware.locale import LocaleMiddleware
from django.utils import translation
from django.utils.cache import patch_cache_control
from django.utils.translation import trans_real
from django.views.decorators.http import require_safe
from django.views.i18n import JavaScriptCatalog

from newsroom.models import Preferences
from readers.middleware import reader_page

CATALOG_MAX_AGE = 3600
_LANGUAGE_TAG = re.compile(r"[a-z]{2,3}(-[a-z0-9]{2,8}){0,2}", re.IGNORECASE)


def supported(language: str) -> str:
    """The site's language nearest to `language` (de-AT: de), or "" when it has none."""
    if not language:
        return ""
    try:
        return translation.get_supported_language_variant(language)
    except LookupError:
        return ""


def chosen_language(user) -> str:
    """The language a signed-in person chose on the language page, or ""."""
    if user is None or not user.is_authenticated:
        return ""
    return supported(Preferences.objects.filter(user=user).values_list("language", flat=True).first() or "")


def socket_language(scope: dict) -> str:
    """A socket's language, as LanguageMiddleware picks a page's: the person's, the cookie's, the browser's."""
    cookie = supported(scope.get("cookies", {}).get(settings.LANGUAGE_COOKIE_NAME, ""))
    headers = dict(scope.get("headers") or [])
    accept = headers.get(b"accept-language", b"").decode("latin-1")[:1000]
    browser = ""
    for language, _quality in trans_real.parse_accept_lang_header(accept):
        if language != "*" and (browser := supported(language)):
            break
    return chosen_language(scope.get("user")) or cookie or browser or supported(settings.LANGUAGE_CODE)


class LanguageMiddleware(LocaleMiddleware):
    """Django's LocaleMiddleware, with the signed-in person's own choice first (after AuthenticationMiddleware)."""

    def process_request(self, request):
        # Without a session cookie nobody is signed in: no session or user lookup for anonymous pages.
        signed_in = settings.SESSION_COOKIE_NAME in request.COOKIES
        language = (signed_in and chosen_language(request.user)) or translation.get_language_from_request(request)
        translation.activate(language)
        request.LANGUAGE_CODE = translation.get_language()


class SocketLanguageMiddleware:
    """The same choice for the newsroom's sockets (inside AuthMiddlewareStack): their messages in that language."""

    def __init__(self, inner):
        self.inner = inner

    async def __call__(self, scope, receive, send):
        language = await database_sync_to_async(socket_language)(scope)
        with translation.override(language):
            return await self.inner(scope, receive, send)


@reader_page
@require_safe
def javascript_catalog(request, language: str):
    """Django's JavaScript catalog (djangojs) in the language the URL names, for the newsroom's scripts (the
    person's language); readers' pages carry their scripts' words in the page (readers/_words.html)."""
    if not _LANGUAGE_TAG.fullmatch(language):
        raise Http404("No such language")
    if not translation.check_for_language(language):
        language = settings.LANGUAGE_CODE
    with translation.override(language):
        response = JavaScriptCatalog.as_view()(request)
    patch_cache_control(response, public=True, max_age=CATALOG_MAX_AGE)
    return response
