from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction

from accounts.services import create_api_token


class Command(BaseCommand):
    help = (
        "Create a named API token for USERNAME and print its key alone on the last line "
        "(use it as 'Authorization: Token <key>'; it is shown only this once). "
        "With --create-user a missing user is created first, with an unusable password "
        "(it can log in to the web pages only after `manage.py changepassword USERNAME`)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("username")
        parser.add_argument("--name", default="command line", help="What the token is for (default: 'command line').")
        parser.add_argument(
            "--create-user",
            action="store_true",
            help="Create USERNAME, with an unusable password, if it does not exist.",
        )

    def handle(self, *args, username: str, name: str, create_user: bool, **options) -> None:
        user_model = get_user_model()
        with transaction.atomic():
            user = user_model.objects.filter(**{user_model.USERNAME_FIELD: username}).first()
            if user is None and not create_user:
                raise CommandError(f"No user '{username}'; pass --create-user to create it.")
            if user is None:
                user = user_model.objects.create_user(**{user_model.USERNAME_FIELD: username}, password=None)
                self.stderr.write(f"Created user '{username}' with an unusable password.")
            try:
                token, key = create_api_token(user=user, name=name)
            except ValidationError as error:
                raise CommandError("; ".join(error.messages)) from None
        self.stderr.write(f"Created token '{token.name}' ({token.prefix}…) for '{username}'.")
        self.stdout.write(key)
