from django.urls import path

from newsroom import views
from newsroom.follow import views as follow_views

app_name = "newsroom"

urlpatterns = [
    path("<slug:slug>/", views.studio, name="studio"),
    path("<slug:slug>/pictures/", views.studio_picture, name="picture"),
    path("<slug:slug>/quotes/", views.studio_quote, name="quote"),
    path("<slug:slug>/posts/", views.studio_post, name="post"),
    path("<slug:slug>/follow/", follow_views.follow_stream, name="follow"),
    path("<slug:slug>/follow/stop/", follow_views.stop_following, name="stop_following"),
    path("<slug:slug>/drafts.json", views.drafts, name="drafts"),
    path("<slug:slug>/drafts/<int:post_id>/", views.draft, name="draft"),
    path("<slug:slug>/sessions/<int:session_id>/recap.json", views.session_recap, name="session_recap"),
]
