"""exchange-edu: the Django project package and the exchange itself.

The Celery app is loaded by `exchange_edu.core.apps.CoreConfig.ready()`, not here, so that
importing the pure `exchange_edu.engine` never pulls in Django or Celery.
"""
