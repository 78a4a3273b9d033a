from django.urls import path

from lastbell.privacy import views

app_name = "privacy"
S = "schools/<int:school_id>/students/<int:student_id>/privacy/"
urlpatterns = [
    path(S, views.student, name="student"),
    path(S + "export.zip", views.export, name="export"),
    path(S + "erase/", views.erase, name="erase"),
    path("district/<int:district_id>/retention/", views.retention, name="retention"),
]
