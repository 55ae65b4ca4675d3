from django.apps import AppConfig


class CoreConfig(AppConfig):
    """The ground floor: what every feature app shares, importing none of them."""

    name = "core"
    verbose_name = "Core"
