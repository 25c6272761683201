"""Pages of the site core: landing, sign-up, attribution, error pages."""

from django.contrib import messages
from django.contrib.auth import login
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from lessons.catalog import lesson_list

from .datasources import SOURCES
from .forms import SignupForm


def home(request):
    return render(request, "home.html", {"lessons": lesson_list()})


@require_http_methods(["GET", "POST"])
def signup(request):
    if request.user.is_authenticated:
        return redirect("lessons:index")
    form = SignupForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        user = form.save()
        login(request, user, backend="django.contrib.auth.backends.ModelBackend")
        messages.success(request, f"Welcome, {user.username}. Your paper account is ready.")
        return redirect("lessons:index")
    return render(request, "registration/signup.html", {"form": form})


def attribution(request):
    return render(request, "attribution.html", {"sources": SOURCES})
