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
    path("schools/<int:school_id>/imports/<int:run_id>/", views.school_run, name="school_run"),
    path(
        "schools/<int:school_id>/imports/<int:run_id>/import/",
        views.school_run_apply,
        name="school_run_apply",
    ),
    path(
        "schools/<int:school_id>/imports/<int:run_id>/rows.csv",
        views.school_run_rows,
        name="school_run_rows",
    ),
    path("district/<int:district_id>/roster-import/", views.district_roster, name="roster"),
    path(
        "district/<int:district_id>/roster-import/<int:run_id>/",
        views.roster_run,
        name="roster_run",
    ),
    path(
        "district/<int:district_id>/roster-import/<int:run_id>/import/",
        views.roster_run_apply,
        name="roster_run_apply",
    ),
    path(
        "district/<int:district_id>/roster-import/<int:run_id>/rows.csv",
        views.roster_run_rows,
        name="roster_run_rows",
    ),
]
