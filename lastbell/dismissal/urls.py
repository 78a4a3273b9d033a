"""The dismissal's pages, under /schools/<id>/dismissal/. Each part keeps its own URL list
(screens, car tags, emergency, reports); they share the "dismissal" namespace."""

from lastbell.dismissal import emergency_urls, report_urls, screen_urls, tag_urls

app_name = "dismissal"
urlpatterns = [
    *screen_urls.urlpatterns,
    *tag_urls.urlpatterns,
    *emergency_urls.urlpatterns,
    *report_urls.urlpatterns,
]
