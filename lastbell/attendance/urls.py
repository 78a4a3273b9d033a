from django.urls import path

from lastbell.attendance import views

app_name = "attendance"
urlpatterns = [
    path(
        "schools/<int:school_id>/students/<int:student_id>/attendance/",
        views.attendance_edit,
        name="edit",
    ),
    path("district/<int:district_id>/attendance-codes/", views.codes, name="codes"),
]
