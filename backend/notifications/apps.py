from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class NotificationsConfig(AppConfig):
    name = "notifications"
    verbose_name = _("Notifications")

    def ready(self) -> None:
        # The workflow moments people hear about, from the domain events after commit.
        from common import events
        from notifications import handlers

        for name, handler in handlers.HANDLERS.items():
            events.subscribe(name, handler)
