from __future__ import annotations

from django.urls import path

from subscriptions import views

app_name = "subscriptions"

urlpatterns = [
    path("subscribe/", views.subscribe, name="subscribe"),
    path("confirm/<str:token>/", views.confirm, name="confirm"),
    path("preferences/", views.request_link, name="request_link"),
    path("preferences/<str:token>/", views.preferences, name="preferences"),
    path("preferences/<str:token>/pause/", views.pause, name="pause"),
    path("preferences/<str:token>/resume/", views.resume, name="resume"),
    path("preferences/<str:token>/weekly/", views.weekly, name="weekly"),
    path("preferences/<str:token>/drop-topic/", views.drop_topic, name="drop_topic"),
    path("preferences/<str:token>/papers/", views.rate_papers, name="rate_papers"),
    path("preferences/<str:token>/ratings/remove/", views.remove_rating, name="remove_rating"),
    path("preferences/<str:token>/ratings/clear/", views.clear_ratings, name="clear_ratings"),
    path("preferences/<str:token>/my-data.json", views.export, name="export"),
    path("preferences/<str:token>/delete/", views.delete, name="delete"),
    path("change-email/<str:token>/", views.change_email, name="change_email"),
    path("unsubscribe/<str:token>/", views.unsubscribe, name="unsubscribe"),
]
