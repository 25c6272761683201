from django.db import models


class Heartbeat(models.Model):
    """When a periodic signal last arrived: `beat` is written by the heartbeat task."""

    name = models.CharField(max_length=40, primary_key=True)
    last_seen = models.DateTimeField()

    def __str__(self) -> str:
        return f"{self.name} @ {self.last_seen.isoformat()}"
