from django.contrib.auth import views as auth_views
from django.urls import include, path

urlpatterns = [
    # Django's own login form: the user signs in at the provider before authorising the app.
    path("accounts/login/", auth_views.LoginView.as_view(), name="login"),
    path("openid/", include("oidc_provider.urls", namespace="oidc_provider")),
]
