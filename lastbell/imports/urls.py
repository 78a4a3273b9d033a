from django.urls import path

from lastbell.imports import views

app_name = "imports"
urlpatterns = [
    path("schools/<int:school_id>/imports/", views.school_imports, name="school"),
    path(
        "schools/<int:school_id>/imports/templates/<str:kind>.csv",
        views.template,
        name="template",
    ),
    path("district/<int:district_id>/roster-import/", views.district_roster, name="roster"),
]
