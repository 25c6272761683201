from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "exchange_edu.core"
    label = "core"
    verbose_name = "Site core"

    def ready(self) -> None:
        # Loading the Celery app here makes @shared_task bind to it in every process.
        from exchange_edu.celery import app  # noqa: F401
