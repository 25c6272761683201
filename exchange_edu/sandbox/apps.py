from django.apps import AppConfig


class SandboxConfig(AppConfig):
    name = "exchange_edu.sandbox"
    label = "sandbox"
    verbose_name = "Sandbox exchanges"
