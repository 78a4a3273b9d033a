from django.urls import path

from lastbell.feeds import views

app_name = "feeds"
urlpatterns = [
    path("", views.bus_feed, name="page"),
    path("pull/", views.pull_now, name="pull"),
]
