from django.urls import path

from newsroom import views

app_name = "newsroom"

urlpatterns = [
    path("<slug:slug>/", views.studio, name="studio"),
    path("<slug:slug>/pictures/", views.studio_picture, name="picture"),
]
