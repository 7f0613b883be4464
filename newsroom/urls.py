from django.urls import path

from newsroom import views

app_name = "newsroom"

urlpatterns = [
    path("<slug:slug>/", views.studio, name="studio"),
    path("<slug:slug>/pictures/", views.studio_picture, name="picture"),
    path("<slug:slug>/drafts.json", views.drafts, name="drafts"),
    path("<slug:slug>/drafts/<int:post_id>/", views.draft, name="draft"),
    path("<slug:slug>/sessions/<int:session_id>/recap.json", views.session_recap, name="session_recap"),
]
