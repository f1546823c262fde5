from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class OrgsConfig(AppConfig):
    name = "orgs"
    verbose_name = _("Organisation")

    def ready(self) -> None:
        from orgs import login_throttle  # noqa: F401  (connects the failed-login counters)
