"""report_urls: see lastbell/dismissal/urls.py."""

urlpatterns = []
