"""The language page: a member of the newsroom picks the language of the studio, the draft queue and admin."""

from django import forms
from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.utils import translation
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext_lazy as _

from newsroom.models import Preferences


class LanguageForm(forms.Form):
    language = forms.ChoiceField(label=_("Language"), required=False)
    next = forms.CharField(required=False, widget=forms.HiddenInput)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # Each language in its own name (Deutsch, English), as people look for their own.
        self.fields["language"].choices = [("", _("The browser's language")), *settings.LANGUAGES]


def _back(request, wanted: str) -> str:
    if url_has_allowed_host_and_scheme(wanted, {request.get_host()}, request.is_secure()):
        return wanted
    return "/admin/"


@login_required
def choose_language(request):
    """GET: the form; POST: the choice kept for this person (and in the language cookie), then back where they were."""
    if request.method != "POST":
        current = Preferences.objects.filter(user=request.user).values_list("language", flat=True).first() or ""
        form = LanguageForm(initial={"language": current, "next": request.GET.get("next", "")})
        return render(request, "newsroom/language.html", {"form": form})
    form = LanguageForm(request.POST)
    if not form.is_valid():
        return render(request, "newsroom/language.html", {"form": form}, status=400)
    language = form.cleaned_data["language"]
    Preferences.objects.update_or_create(user=request.user, defaults={"language": language})
    response = redirect(_back(request, form.cleaned_data["next"]))
    if language:
        translation.activate(language)
        response.set_cookie(
            settings.LANGUAGE_COOKIE_NAME,
            language,
            max_age=settings.LANGUAGE_COOKIE_AGE,
            samesite=settings.LANGUAGE_COOKIE_SAMESITE,
            secure=settings.LANGUAGE_COOKIE_SECURE,
            httponly=settings.LANGUAGE_COOKIE_HTTPONLY,
        )
    else:
        response.delete_cookie(settings.LANGUAGE_COOKIE_NAME)
    return response
