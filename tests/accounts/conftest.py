import pytest
from django.contrib.auth import get_user_model


@pytest.fixture
def password() -> str:
    return "a-long-and-unguessable-passphrase-42"


@pytest.fixture
def alice(db, password):
    return get_user_model().objects.create_user(username="alice", password=password)


@pytest.fixture
def bob(db, password):
    return get_user_model().objects.create_user(username="bob", password=password)
