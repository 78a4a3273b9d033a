from django.urls import path

from lastbell.family import staff_views

app_name = "families"
urlpatterns = [
    path("missing/", staff_views.missing_message, name="missing_message"),
    path("invite/<int:student_id>/", staff_views.guardian_invite, name="invite"),
    path("invite/", staff_views.invite_all, name="invite_all"),
]
