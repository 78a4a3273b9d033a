from django.apps import AppConfig


class FeedsConfig(AppConfig):
    name = "lastbell.feeds"
    label = "feeds"
