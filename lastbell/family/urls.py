from django.urls import path

from lastbell.family import check_in_views, views

app_name = "family"
urlpatterns = [
    path("", views.home, name="home"),
    path("link/", views.link, name="link"),
    path("link/child/<int:student_id>/", views.link_child, name="link_child"),
    path("sign-in/", views.link_request_view, name="link_request"),
    path("account/", views.account, name="account"),
    path("check-in/<int:school_id>/", check_in_views.check_in, name="check_in"),
    path(
        "check-in/<int:school_id>/status/",
        check_in_views.check_in_status,
        name="check_in_status",
    ),
    path("children/<int:student_id>/", views.child, name="child"),
    path("children/<int:student_id>/usual/", views.usual_edit, name="usual"),
    path("children/<int:student_id>/changes/new/", views.change_new, name="change_new"),
    path(
        "children/<int:student_id>/changes/<int:change_id>/remove/",
        views.change_remove,
        name="change_remove",
    ),
    path("children/<int:student_id>/month/", views.month, name="month"),
    path("children/<int:student_id>/pickup/", views.adults, name="adults"),
    path(
        "children/<int:student_id>/pickup/<int:adult_id>/remove/",
        views.adult_remove_view,
        name="adult_remove",
    ),
    path(
        "children/<int:student_id>/pickup/<int:adult_id>/photo/",
        views.adult_photo,
        name="adult_photo",
    ),
]
