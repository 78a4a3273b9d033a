from django.urls import path

from lastbell.truancy import views

app_name = "truancy"
urlpatterns = [
    path("schools/<int:school_id>/truancy/", views.school_due, name="school"),
    path("schools/<int:school_id>/truancy/policy/", views.school_policy, name="school_policy"),
    path("district/<int:district_id>/truancy/", views.district_due, name="district"),
    path(
        "district/<int:district_id>/truancy/policy/",
        views.district_policy,
        name="district_policy",
    ),
]
