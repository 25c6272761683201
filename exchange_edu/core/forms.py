from django import forms
from django.contrib.auth.forms import UserCreationForm


class SignupForm(UserCreationForm):
    """Username and password only: a paper-money course needs no e-mail to start."""


class TokenForm(forms.Form):
    name = forms.CharField(
        max_length=80,
        label="Token name",
        help_text="What will use it, e.g. “market-maker script”.",
        widget=forms.TextInput(attrs={"autocomplete": "off"}),
    )
