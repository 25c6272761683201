from django.contrib.auth.forms import UserCreationForm


class SignupForm(UserCreationForm):
    """Username and password only: a paper-money course needs no e-mail to start."""
