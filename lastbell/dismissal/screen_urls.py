"""The live dismissal screens for staff (views.py); see lastbell/dismissal/urls.py."""

from django.urls import path

from lastbell.dismissal import views

urlpatterns = [
    path("", views.overview, name="overview"),
    path("curb/", views.curb, name="curb"),
    path("curb/check-in/", views.check_in, name="check_in"),
    path("classroom/", views.classroom, name="classroom"),
    path("classroom/sent/", views.sent, name="sent"),
    path("release/", views.release_search, name="release_search"),
    path("release/<int:student_id>/", views.release, name="release"),
    path("groups/", views.groups, name="groups"),
    path("groups/release/", views.group_release, name="group_release"),
    path("groups/undo/", views.group_undo, name="group_undo"),
    path("undo/<int:event_id>/", views.undo, name="undo"),
    path("late/", views.late, name="late"),
    path("students/<int:student_id>/timeline/", views.timeline, name="timeline"),
]
