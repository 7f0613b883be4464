"""The site's URLs: admin, login, health, the newsroom's studio, transcripts and the readers' pages."""

from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from liveblog_site import views

admin.site.site_header = "Liveblog newsroom"
admin.site.site_title = "Liveblog newsroom"
admin.site.index_title = "Events, drafts and posts"

urlpatterns = [
    path("admin/", admin.site.urls),
    path("accounts/login/", auth_views.LoginView.as_view(template_name="registration/login.html"), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("healthz", views.healthz, name="healthz"),
    path("studio/", include("newsroom.urls")),
    path("transcripts/", include("transcription.review.urls")),
    path("", include("readers.urls")),
]
