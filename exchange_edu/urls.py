from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from exchange_edu.api import api
from exchange_edu.core import views as core_views

urlpatterns = [
    path("", core_views.home, name="home"),
    path("lessons/", include("lessons.urls")),
    path("accounts/login/", auth_views.LoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("accounts/signup/", core_views.signup, name="signup"),
    path("accounts/profile/", core_views.profile, name="profile"),
    path("data-sources/", core_views.attribution, name="attribution"),
    path("api/v1/", api.urls),
    path("admin/", admin.site.urls),
]
