"""Settings of the test's django-oidc-provider: Django's minimum for sessions, logins and CSRF, and
of django-oidc-provider's own settings only OIDC_USERINFO (see claims.py). Everything else is the
package's default: OIDC_IDTOKEN_INCLUDE_CLAIMS is off, so id_tokens carry `sub` but no address."""
import os

SECRET_KEY = "test-only-not-a-secret"
DEBUG = True
ALLOWED_HOSTS = ["127.0.0.1", "localhost"]
INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "oidc_provider",
    "provider_site",
]
MIDDLEWARE = [
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
]
ROOT_URLCONF = "provider_site.urls"
TEMPLATES = [{
    "BACKEND": "django.template.backends.django.DjangoTemplates",
    "APP_DIRS": True,
    "OPTIONS": {"context_processors": ["django.template.context_processors.request"]},
}]
DATABASES = {"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": os.environ["PROVIDER_DATABASE"]}}
DEFAULT_AUTO_FIELD = "django.db.models.AutoField"
USE_TZ = True
LOGIN_URL = "/accounts/login/"

# What the project knows about its users. django-oidc-provider fills `email` from the user row by
# itself but leaves `email_verified` empty (hence out of the UserInfo answer) unless the project
# says whether it checked the address.
OIDC_USERINFO = "provider_site.claims.userinfo"
