from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "core"
    verbose_name = "Platform"

    def ready(self) -> None:
        # Before any URLconf is loaded: the `<id:...>` path converter of row ids.
        from core.url_converters import register

        register()
