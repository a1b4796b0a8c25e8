#!/usr/bin/env python3
"""A Django project around django-oidc-provider (PyPI), the real OpenID provider of
DjangoOIDCProviderTests: its settings are the package's defaults (id_tokens carry no claims, the
address is only at UserInfo, consent is asked, RS256) plus what any project must say itself (see
provider_site/settings.py). Run with the test's venv python; PROVIDER_DATABASE names its SQLite file.
"""
import os
import signal
import sys

if __name__ == "__main__":
    # The test process starts us with SIGTERM/SIGINT blocked (an inherited mask): unblock them, so
    # the test's SIGTERM stops runserver at once.
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGTERM, signal.SIGINT})
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "provider_site.settings")
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)
