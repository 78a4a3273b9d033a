from django.apps import AppConfig


class DismissalConfig(AppConfig):
    name = "lastbell.dismissal"

    def ready(self):
        from lastbell import live
        from lastbell.dismissal import chain

        live.version_parts.append(chain.length_today)
