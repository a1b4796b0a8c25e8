from django.contrib.auth.models import User
from django.core.management.base import BaseCommand

from oidc_provider.models import Client, ResponseType


class Command(BaseCommand):
    help = "Creates the test's user and a confidential client (response type code) for the service."

    def add_arguments(self, parser):
        for name in ("username", "password", "email", "client-id", "client-secret", "redirect-uri"):
            parser.add_argument("--" + name, required=True)

    def handle(self, **options):
        User.objects.create_user(options["username"], options["email"], options["password"], first_name="Django", last_name="User")
        client = Client(name="jwt-allauth", client_type="confidential", client_id=options["client_id"],
                        client_secret=options["client_secret"])
        client.redirect_uris = [options["redirect_uri"]]
        client.save()
        client.response_types.add(ResponseType.objects.get(value="code"))
