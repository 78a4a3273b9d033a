from django.apps import AppConfig


class MessagingConfig(AppConfig):
    name = "lastbell.messaging"
    label = "messaging"
