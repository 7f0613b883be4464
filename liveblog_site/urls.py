"""The site's URLs: admin, login, health, the newsroom's studio, transcripts and the readers' pages."""

from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path, re_path
from django.utils.translation import gettext_lazy as _

from liveblog_site import i18n, views
from newsroom import language

admin.site.site_header = _("Liveblog newsroom")
admin.site.site_title = _("Liveblog newsroom")
admin.site.index_title = _("Events, drafts and posts")

urlpatterns = [
    path("admin/", admin.site.urls),
    path("accounts/login/", auth_views.LoginView.as_view(template_name="registration/login.html"), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("accounts/language/", language.choose_language, name="language"),
    path("i18n/", include("django.conf.urls.i18n")),
    re_path(r"^jsi18n/(?P<language>[A-Za-z0-9-]{2,20})\.js$", i18n.javascript_catalog, name="javascript-catalog"),
    path("healthz", views.healthz, name="healthz"),
    path("studio/", include("newsroom.urls")),
    path("transcripts/", include("transcription.review.urls")),
    path("", include("readers.urls")),
]
