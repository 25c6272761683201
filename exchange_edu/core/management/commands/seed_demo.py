"""Create the demo logins (idempotent) and print them.

Running it again keeps existing users and resets their passwords to the printed demo ones, so
the printed logins always work.
"""

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand
from django.db import transaction

DEMO_USERS = (
    # username, password, is_staff, role shown to the person starting the app
    ("instructor", "instructor-demo-2014", True, "instructor (can open /admin/)"),
    ("learner", "learner-demo-2016", False, "learner"),
)


class Command(BaseCommand):
    help = "Create the demo instructor and learner with known passwords and print the logins."

    def handle(self, *args, **options) -> None:
        User = get_user_model()
        with transaction.atomic():
            for username, password, is_staff, _ in DEMO_USERS:
                user, _created = User.objects.get_or_create(username=username)
                user.is_staff = is_staff
                user.is_superuser = is_staff
                user.set_password(password)
                user.save()
        self.stdout.write("Demo logins:")
        for username, password, _, role in DEMO_USERS:
            self.stdout.write(f"  {role:<30} username: {username:<11} password: {password}")
