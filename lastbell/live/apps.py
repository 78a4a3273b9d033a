from django.apps import AppConfig


class LiveConfig(AppConfig):
    name = "lastbell.live"
    label = "live"
    verbose_name = "Live updates"

    def ready(self):
        from lastbell.live import signals

        signals.connect()
