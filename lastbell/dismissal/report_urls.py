"""report_urls: the dismissal reports (see lastbell/dismissal/urls.py)."""

from django.urls import path

from lastbell.dismissal import report_views as views

urlpatterns = [
    path("reports/", views.overview, name="reports"),
    path("reports/pickups/", views.pickups, name="reports_pickups"),
    path("reports/completion.csv", views.completion_csv, name="reports_completion_csv"),
    path("reports/late.csv", views.late_csv, name="reports_late_csv"),
    path("reports/emergencies.csv", views.emergencies_csv, name="reports_emergencies_csv"),
    path("reports/pickups.csv", views.pickups_csv, name="reports_pickups_csv"),
]
