"""Create a personal API token for a user; the token is the last line printed."""

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from exchange_edu.core import services


class Command(BaseCommand):
    help = "Create an API token for USERNAME and print it (only the token, on the last line)."

    def add_arguments(self, parser) -> None:
        parser.add_argument("username")
        parser.add_argument("--name", default="command line", help="a label for the token")

    def handle(self, *args, username: str, name: str, **options) -> None:
        user = get_user_model().objects.filter(username=username).first()
        if user is None:
            raise CommandError(f"no user named {username!r}")
        try:
            _, raw = services.api_token_create(user=user, name=name)
        except services.TokenError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(raw)
