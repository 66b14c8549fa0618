from datetime import timedelta

import pytest
from asgiref.sync import sync_to_async
from django.contrib.auth import get_user_model
from django.test import AsyncClient, Client
from django.utils import timezone
from django.utils.crypto import get_random_string
from oauth2_provider.models import get_access_token_model, get_application_model

from accounts.models import ApiToken
from accounts.services import create_api_token, revoke_api_token

pytestmark = [pytest.mark.django_db, pytest.mark.urls("tests.accounts.probe_urls")]

PROBE = "/probe/whoami/"


@pytest.fixture
def client() -> Client:
    return Client(enforce_csrf_checks=True)


@pytest.fixture
def alice_key(alice) -> str:
    return create_api_token(user=alice, name="laptop")[1]


def make_access_token(
    *, user, token: str = "an-access-token", expires_in: timedelta = timedelta(hours=1), scope: str = "api"
):
    application = get_application_model().objects.create(
        name="test client",
        client_type="public",
        authorization_grant_type="urn:ietf:params:oauth:grant-type:device_code",
    )
    return get_access_token_model().objects.create(
        user=user, application=application, token=token, expires=timezone.now() + expires_in, scope=scope
    )


def log_in_with_csrf_cookie(client: Client, user) -> str:
    client.force_login(user)
    csrf_secret = get_random_string(32)
    client.cookies["csrftoken"] = csrf_secret
    return csrf_secret


def test_a_token_header_authenticates_its_user(client, alice_key):
    response = client.get(PROBE, headers={"Authorization": f"Token {alice_key}"})
    assert response.status_code == 200
    assert response.json() == {"username": "alice"}


def test_a_token_authenticates_an_unsafe_request_without_csrf(client, alice_key):
    for method in (client.post, client.delete, client.put, client.patch):
        response = method(PROBE, headers={"Authorization": f"Token {alice_key}"})
        assert response.json() == {"username": "alice"}


def test_the_scheme_name_is_case_insensitive(client, alice_key):
    response = client.get(PROBE, headers={"Authorization": f"token {alice_key}"})
    assert response.json() == {"username": "alice"}


def test_a_token_wins_over_the_session(client, alice_key, bob):
    client.force_login(bob)
    response = client.post(PROBE, headers={"Authorization": f"Token {alice_key}"})
    assert response.json() == {"username": "alice"}


def test_a_revoked_token_is_refused(client, alice, alice_key):
    revoke_api_token(user=alice, token_id=ApiToken.objects.get().pk)

    response = client.get(PROBE, headers={"Authorization": f"Token {alice_key}"})

    assert response.status_code == 401
    assert response.json() == {"error": "invalid or revoked token"}


def test_an_unknown_token_is_refused_even_with_a_session(client, alice):
    client.force_login(alice)
    response = client.get(PROBE, headers={"Authorization": "Token scr_not-a-key"})
    assert response.status_code == 401
    assert response.json() == {"error": "invalid or revoked token"}


def test_a_token_of_an_inactive_user_is_refused(client, alice, alice_key):
    alice.is_active = False
    alice.save()
    response = client.get(PROBE, headers={"Authorization": f"Token {alice_key}"})
    assert response.status_code == 401
    assert response.json() == {"error": "the token's user is inactive"}


@pytest.mark.parametrize(
    ("header", "error"),
    [
        ("Token", "malformed Authorization header: expected 'Token <credentials>'"),
        ("Token a b", "malformed Authorization header: expected 'Token <credentials>'"),
        ("Bearer ", "malformed Authorization header: expected 'Bearer <credentials>'"),
        ("Basic YWxpY2U6c2VjcmV0", "unsupported Authorization scheme: use 'Token <key>' or 'Bearer <access token>'"),
    ],
)
def test_a_malformed_authorization_header_is_refused(client, alice, header, error):
    response = client.get(PROBE, headers={"Authorization": header})
    assert response.status_code == 401
    assert response.json() == {"error": error}


def test_first_use_records_last_used_at(client, alice_key):
    client.get(PROBE, headers={"Authorization": f"Token {alice_key}"})
    assert ApiToken.objects.get().last_used_at is not None


def test_last_used_at_is_written_at_most_once_a_minute(client, alice_key):
    recently = timezone.now() - timedelta(seconds=30)
    ApiToken.objects.update(last_used_at=recently)

    client.get(PROBE, headers={"Authorization": f"Token {alice_key}"})

    assert ApiToken.objects.get().last_used_at == recently


def test_last_used_at_moves_on_after_a_minute(client, alice_key):
    long_ago = timezone.now() - timedelta(minutes=5)
    ApiToken.objects.update(last_used_at=long_ago)

    client.get(PROBE, headers={"Authorization": f"Token {alice_key}"})

    last_used_at = ApiToken.objects.get().last_used_at
    assert last_used_at is not None and last_used_at > long_ago


def test_a_bearer_access_token_authenticates_its_user_without_csrf(client, alice):
    make_access_token(user=alice, token="device-flow-token")
    response = client.post(PROBE, headers={"Authorization": "Bearer device-flow-token"})
    assert response.json() == {"username": "alice"}


def test_an_expired_access_token_is_refused(client, alice):
    make_access_token(user=alice, token="old-token", expires_in=timedelta(seconds=-1))
    response = client.get(PROBE, headers={"Authorization": "Bearer old-token"})
    assert response.status_code == 401
    assert response.json() == {"error": "expired access token"}


def test_an_unknown_access_token_is_refused(client, alice):
    make_access_token(user=alice, token="real-token")
    response = client.get(PROBE, headers={"Authorization": "Bearer forged-token"})
    assert response.status_code == 401
    assert response.json() == {"error": "invalid or revoked access token"}


def test_an_access_token_without_the_api_scope_is_refused(client, alice):
    make_access_token(user=alice, token="narrow-token", scope="openid")
    response = client.get(PROBE, headers={"Authorization": "Bearer narrow-token"})
    assert response.status_code == 401
    assert response.json() == {"error": "the access token lacks the 'api' scope"}


def test_without_a_header_a_safe_request_uses_the_session_user(client, alice):
    client.force_login(alice)
    assert client.get(PROBE).json() == {"username": "alice"}


def test_without_a_header_or_session_the_caller_is_anonymous(client, db):
    assert client.get(PROBE).json() == {"username": None}
    assert client.post(PROBE).json() == {"username": None}


def test_a_session_post_without_a_csrf_token_is_refused(client, alice):
    log_in_with_csrf_cookie(client, alice)
    response = client.post(PROBE)
    assert response.status_code == 401
    assert response.json()["error"].startswith("CSRF check failed: CSRF token missing")


def test_a_session_post_without_a_csrf_cookie_is_refused(client, alice):
    client.force_login(alice)
    response = client.delete(PROBE, headers={"X-CSRFToken": get_random_string(32)})
    assert response.status_code == 401
    assert response.json()["error"].startswith("CSRF check failed: CSRF cookie not set")


def test_a_session_post_with_a_wrong_csrf_token_is_refused(client, alice):
    log_in_with_csrf_cookie(client, alice)
    response = client.post(PROBE, headers={"X-CSRFToken": get_random_string(32)})
    assert response.status_code == 401
    assert response.json()["error"].startswith(
        "CSRF check failed: CSRF token from the 'X-Csrftoken' HTTP header incorrect"
    )


def test_a_session_request_with_the_csrf_header_is_accepted_for_every_unsafe_method(client, alice):
    csrf_secret = log_in_with_csrf_cookie(client, alice)
    for method in (client.post, client.delete, client.put, client.patch):
        response = method(PROBE, headers={"X-CSRFToken": csrf_secret})
        assert response.json() == {"username": "alice"}


def test_a_session_multipart_post_with_the_csrf_form_field_is_accepted(client, alice):
    csrf_secret = log_in_with_csrf_cookie(client, alice)
    response = client.post(PROBE, {"csrfmiddlewaretoken": csrf_secret, "visibility": "private"})
    assert response.json() == {"username": "alice"}


def test_a_session_post_from_a_foreign_origin_is_refused(client, alice):
    csrf_secret = log_in_with_csrf_cookie(client, alice)
    response = client.post(PROBE, headers={"X-CSRFToken": csrf_secret, "Origin": "https://evil.example"})
    assert response.status_code == 401
    assert (
        response.json()["error"]
        == "CSRF check failed: Origin checking failed - https://evil.example does not match any trusted origins."
    )


@pytest.mark.asyncio
@pytest.mark.django_db(transaction=True)
async def test_tokens_and_sessions_authenticate_inside_a_running_event_loop():
    dora = await get_user_model().objects.acreate(username="dora")
    _, key = await sync_to_async(create_api_token)(user=dora, name="async")
    client = AsyncClient(enforce_csrf_checks=True)

    by_token = await client.post(PROBE, headers={"Authorization": f"Token {key}"})
    await client.aforce_login(dora)
    by_session = await client.get(PROBE)

    assert by_token.json() == {"username": "dora"}
    assert by_session.json() == {"username": "dora"}
    assert (await ApiToken.objects.aget()).last_used_at is not None
