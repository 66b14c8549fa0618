import hashlib

import pytest
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.management import CommandError, call_command

from accounts.models import ApiToken
from accounts.services import create_api_token, revoke_api_token

pytestmark = pytest.mark.django_db


def test_create_api_token_returns_the_key_once_and_stores_only_its_hash(alice):
    token, key = create_api_token(user=alice, name="laptop")

    stored = ApiToken.objects.get(pk=token.pk)
    assert stored.user == alice
    assert stored.name == "laptop"
    assert stored.key_hash == hashlib.sha256(key.encode()).hexdigest()
    assert key.startswith(stored.prefix)
    assert len(key) > 40
    assert key not in {field.value_from_object(stored) for field in ApiToken._meta.concrete_fields}
    assert stored.last_used_at is None


def test_every_token_gets_a_different_key(alice):
    keys = {create_api_token(user=alice, name=f"t{number}")[1] for number in range(5)}
    assert len(keys) == 5


def test_create_api_token_strips_the_name(alice):
    token, _ = create_api_token(user=alice, name="  backup script  ")
    assert token.name == "backup script"


@pytest.mark.parametrize("name", ["", "   ", "x" * 101])
def test_create_api_token_refuses_a_blank_or_overlong_name_and_stores_nothing(alice, name):
    with pytest.raises(ValidationError) as error:
        create_api_token(user=alice, name=name)
    assert "name" in error.value.message_dict
    assert not ApiToken.objects.exists()


def test_revoke_api_token_deletes_the_token(alice):
    token, _ = create_api_token(user=alice, name="laptop")
    kept, _ = create_api_token(user=alice, name="desktop")

    revoke_api_token(user=alice, token_id=token.pk)

    assert list(ApiToken.objects.all()) == [kept]


def test_revoke_api_token_refuses_someone_elses_token(alice, bob):
    token, _ = create_api_token(user=alice, name="laptop")

    with pytest.raises(ApiToken.DoesNotExist):
        revoke_api_token(user=bob, token_id=token.pk)

    assert ApiToken.objects.filter(pk=token.pk).exists()


def test_deleting_a_user_deletes_their_tokens(alice):
    create_api_token(user=alice, name="laptop")
    alice.delete()
    assert not ApiToken.objects.exists()


def test_create_token_command_prints_the_key_alone_on_the_last_line(alice, capsys):
    call_command("create_token", "alice", "--name", "importer")

    key = capsys.readouterr().out.splitlines()[-1]
    token = ApiToken.objects.get()
    assert token.name == "importer"
    assert token.user == alice
    assert token.key_hash == hashlib.sha256(key.encode()).hexdigest()


def test_create_token_command_refuses_an_unknown_user_without_create_user(db, capsys):
    with pytest.raises(CommandError, match="--create-user"):
        call_command("create_token", "nobody")
    assert not ApiToken.objects.exists()
    assert not get_user_model().objects.exists()


def test_create_token_command_creates_a_missing_user_with_an_unusable_password(db, capsys):
    call_command("create_token", "carol", "--create-user")

    key = capsys.readouterr().out.splitlines()[-1]
    carol = get_user_model().objects.get(username="carol")
    assert not carol.has_usable_password()
    assert ApiToken.objects.get(user=carol).key_hash == hashlib.sha256(key.encode()).hexdigest()


def test_create_token_command_with_create_user_reuses_an_existing_user(alice, capsys):
    call_command("create_token", "alice", "--create-user")

    assert get_user_model().objects.count() == 1
    assert alice.api_tokens.count() == 1
    alice.refresh_from_db()
    assert alice.has_usable_password()
