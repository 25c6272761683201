"""API test fixtures: a learner with a bearer token, a clean engine-state cache and rate-limit cache."""

import pytest
from django.core.cache import cache

from exchange_edu.core.services import api_token_create
from exchange_edu.sandbox import mappers


@pytest.fixture(autouse=True)
def _fresh_caches():
    mappers.forget_state()
    cache.clear()
    yield
    mappers.forget_state()
    cache.clear()


@pytest.fixture
def token(learner):
    _, raw = api_token_create(user=learner, name="tests")
    return raw


@pytest.fixture
def auth(token):
    return {"HTTP_AUTHORIZATION": f"Bearer {token}"}
