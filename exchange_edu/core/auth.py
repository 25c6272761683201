"""API authentication: the browser's session (with CSRF) or a personal bearer token."""

from ninja.security import HttpBearer, django_auth

from . import services


class TokenAuth(HttpBearer):
    """`Authorization: Bearer exedu_...`; tokens are stored hashed."""

    def authenticate(self, request, token: str):
        user = services.api_token_authenticate(raw=token)
        if user is not None:
            request.user = user
        return user


# Either works; session requests must carry the CSRF token (htmx sends it from <body>).
api_auth = [TokenAuth(), django_auth]
