"""Pages of the site core: landing, sign-up, attribution, error pages."""

from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods
from django.views.decorators.vary import vary_on_headers

from lessons.catalog import lesson_list

from . import selectors, services
from .datasources import SOURCES
from .forms import SignupForm, TokenForm


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


@login_required
@require_http_methods(["GET", "POST"])
@vary_on_headers("HX-Request")
def profile(request):
    """Profile with API tokens: create (shown once) and revoke; htmx swaps only #api-tokens."""
    context = {"form": TokenForm()}
    if request.method == "POST":
        action = request.POST.get("action")
        if action == "create":
            form = TokenForm(request.POST)
            if form.is_valid():
                try:
                    token, raw = services.api_token_create(user=request.user, name=form.cleaned_data["name"])
                    context.update(new_token=raw, new_token_name=token.name)
                except services.TokenError as exc:
                    form.add_error("name", exc.message)
                    context["form"] = form
            else:
                context["form"] = form
        elif action == "revoke":
            try:
                services.api_token_revoke(user=request.user, token_id=int(request.POST.get("token_id", "")))
            except (ValueError, services.TokenError):
                messages.error(request, "That token does not exist.")
        else:
            messages.error(request, "Unknown action.")
    context["tokens"] = selectors.api_tokens_of(user=request.user)
    template = "accounts/profile.html#api-tokens" if request.htmx else "accounts/profile.html"
    return render(request, template, context)
