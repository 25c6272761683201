"""Declare the Celery queue before the worker and beat start.

On a brand-new SQLAlchemy broker file, beat and the worker race to create the tables and one of
them can die; declaring the default queue once, first, removes the race.
"""

from django.core.management.base import BaseCommand

from exchange_edu.celery import app


class Command(BaseCommand):
    help = "Create the broker's tables and declare the default Celery queue."

    def handle(self, *args, **options) -> None:
        with app.connection_for_write() as conn:
            conn.ensure_connection(max_retries=5)
            queue = app.amqp.queues[app.conf.task_default_queue]
            queue.bind(conn.default_channel).declare()
        self.stdout.write(f"broker ready: queue '{app.conf.task_default_queue}' declared")
