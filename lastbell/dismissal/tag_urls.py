"""tag_urls: see lastbell/dismissal/urls.py."""

from django.urls import path

from lastbell.dismissal import tag_views

urlpatterns = [
    path("tags/", tag_views.tags, name="tags"),
    path("tags/assign/", tag_views.tags_assign, name="tags_assign"),
    path("tags/hang-tags.pdf", tag_views.tags_pdf, name="tags_pdf"),
]
