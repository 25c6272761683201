import pytest
from django.conf import settings


def pytest_report_header(config):
    db = settings.DATABASES["default"]
    where = db.get("HOST") or db.get("NAME")
    broker = settings.CELERY_BROKER_URL.split("@")[-1]
    return [f"exchange-edu backends: database={db['ENGINE'].rsplit('.', 1)[-1]} ({where}); "
            f"broker={broker}"]


@pytest.fixture
def learner(django_user_model):
    return django_user_model.objects.create_user(username="ada", password="correct-horse-42")
