"""A Django user table whose passwords Django itself hashed, one user per hasher, for the import
tests (DjangoImportTests): Django's own migrations make auth_user, make_password hashes each
password at the hasher's defaults.

    python django_password_hashes.py DATABASE PASSWORD   # prints {"<email>": "<hash>", …} as JSON
"""
import json
import sys

import django
from django.conf import settings

database, password = sys.argv[1], sys.argv[2]
HASHERS = ["PBKDF2PasswordHasher", "PBKDF2SHA1PasswordHasher", "Argon2PasswordHasher", "BCryptSHA256PasswordHasher",
           "BCryptPasswordHasher", "ScryptPasswordHasher", "MD5PasswordHasher"]
settings.configure(
    INSTALLED_APPS=["django.contrib.auth", "django.contrib.contenttypes"],
    DATABASES={"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": database}},
    PASSWORD_HASHERS=["django.contrib.auth.hashers." + name for name in HASHERS],
    USE_TZ=True,
)
django.setup()

import argon2  # noqa: E402
from django.contrib.auth.hashers import Argon2PasswordHasher, make_password  # noqa: E402
from django.contrib.auth.models import User  # noqa: E402
from django.core.management import call_command  # noqa: E402


class Argon2iPasswordHasher(Argon2PasswordHasher):
    """Django's argon2 hashes before 3.2 (argon2-cffi's default was argon2i then)."""

    def params(self):
        params = super().params()
        params.type = argon2.low_level.Type.I
        return params


call_command("migrate", verbosity=0)
hashes = {}
for name in ["pbkdf2_sha256", "pbkdf2_sha1", "argon2", "bcrypt_sha256", "bcrypt", "scrypt", "md5"]:
    hashes[f"{name}@example.com"] = make_password(password, hasher=name)
hashes["argon2i@example.com"] = make_password(password, hasher=Argon2iPasswordHasher())
for email, encoded in hashes.items():
    User.objects.create(username=email.split("@")[0], email=email, password=encoded, first_name="Imported")
print(json.dumps(hashes))
