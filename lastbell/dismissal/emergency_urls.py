"""emergency_urls: emergency reunification (see lastbell/dismissal/urls.py)."""

from django.urls import path

from lastbell.dismissal import emergency_views as views

urlpatterns = [
    path("emergency/", views.emergency, name="emergency"),
    path("emergency/start/", views.emergency_start, name="emergency_start"),
    path("emergency/end/", views.emergency_end, name="emergency_end"),
    path("emergency/desk/", views.emergency_desk, name="emergency_desk"),
    path(
        "emergency/students/<int:student_id>/",
        views.emergency_student,
        name="emergency_student",
    ),
    path(
        "emergency/students/<int:student_id>/account/",
        views.emergency_account,
        name="emergency_account",
    ),
    path("emergency/events/<int:event_id>/undo/", views.emergency_undo, name="emergency_undo"),
    path("emergency/log.csv", views.emergency_log_csv, name="emergency_log_csv"),
    path("emergency/log.pdf", views.emergency_log_pdf, name="emergency_log_pdf"),
]
