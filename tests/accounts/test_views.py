from datetime import timedelta

import pytest
from axes.models import AccessAttempt
from django.contrib.auth import get_user_model
from django.test import AsyncClient, Client
from django.utils import timezone

from accounts.models import ApiToken
from accounts.services import create_api_token, hash_api_key

pytestmark = pytest.mark.django_db

NEW_PASSWORD = "another-long-passphrase-for-tests-77"


def log_in(client: Client, *, username: str, password: str, address: str = "127.0.0.1"):
    return client.post("/accounts/login/", {"username": username, "password": password}, REMOTE_ADDR=address)


def is_logged_in_as(client: Client, user) -> bool:
    return client.session.get("_auth_user_id") == str(user.pk)


# ---- sign-up -------------------------------------------------------------------


def test_sign_up_page_shows_the_form_in_the_site_layout(client):
    response = client.get("/accounts/signup/")
    assert response.status_code == 200
    assert b'name="username"' in response.content
    assert b'name="password1"' in response.content
    assert b'class="site-header"' in response.content


def test_signing_up_creates_the_user_and_logs_them_in(client):
    response = client.post(
        "/accounts/signup/", {"username": "carol", "password1": NEW_PASSWORD, "password2": NEW_PASSWORD}
    )
    carol = get_user_model().objects.get(username="carol")
    assert response.status_code == 302
    assert response.url == "/"
    assert carol.check_password(NEW_PASSWORD)
    assert is_logged_in_as(client, carol)


def test_signing_up_follows_a_local_next_url_only(client):
    local = client.post(
        "/accounts/signup/?next=/accounts/tokens/",
        {"username": "carol", "password1": NEW_PASSWORD, "password2": NEW_PASSWORD},
    )
    other = Client().post(
        "/accounts/signup/",
        {"username": "dave", "password1": NEW_PASSWORD, "password2": NEW_PASSWORD, "next": "https://evil.example/"},
    )
    assert local["Location"] == "/accounts/tokens/"
    assert other["Location"] == "/"


def test_sign_up_with_mismatched_passwords_creates_no_user(client):
    response = client.post(
        "/accounts/signup/", {"username": "carol", "password1": NEW_PASSWORD, "password2": NEW_PASSWORD + "x"}
    )
    assert response.status_code == 400
    assert b"The two password fields" in response.content
    assert not get_user_model().objects.filter(username="carol").exists()


def test_sign_up_refuses_a_taken_username(client, alice):
    response = client.post(
        "/accounts/signup/", {"username": "alice", "password1": NEW_PASSWORD, "password2": NEW_PASSWORD}
    )
    assert response.status_code == 400
    assert b"already exists" in response.content
    assert get_user_model().objects.count() == 1


def test_sign_up_is_gone_when_closed(client, settings):
    settings.SCROLLER_SIGNUP_OPEN = False
    response = client.post(
        "/accounts/signup/", {"username": "carol", "password1": NEW_PASSWORD, "password2": NEW_PASSWORD}
    )
    assert response.status_code == 404
    assert not get_user_model().objects.exists()


# ---- login, lockout, logout -------------------------------------------------------


def test_login_page_carries_a_csrf_token_and_refuses_a_post_without_it(alice, password):
    browser = Client(enforce_csrf_checks=True)
    page = browser.get("/accounts/login/")
    assert b'name="csrfmiddlewaretoken"' in page.content
    assert log_in(browser, username="alice", password=password).status_code == 403


def test_logging_in_with_the_right_password_starts_a_session(client, alice, password):
    response = log_in(client, username="alice", password=password)
    assert response.status_code == 302
    assert response.url == "/"
    assert is_logged_in_as(client, alice)


def test_logging_in_with_a_wrong_password_shows_an_error(client, alice):
    response = log_in(client, username="alice", password="wrong")
    assert response.status_code == 200
    assert b"Please enter a correct username and password" in response.content
    assert not is_logged_in_as(client, alice)


def test_the_fifth_failed_login_locks_that_username_out_from_that_address(client, alice, password, settings):
    assert settings.AXES_FAILURE_LIMIT == 5
    for _ in range(4):
        assert log_in(client, username="alice", password="wrong").status_code == 200

    fifth = log_in(client, username="alice", password="wrong")
    with_right_password = log_in(client, username="alice", password=password)

    assert fifth.status_code == 429
    assert b"Too many failed logins" in fifth.content
    assert b"Try again in 15 minutes" in fifth.content
    assert with_right_password.status_code == 429
    assert not is_logged_in_as(client, alice)


def test_a_lockout_does_not_stop_the_same_user_from_another_address(client, alice, password):
    for _ in range(5):
        log_in(client, username="alice", password="wrong", address="203.0.113.9")

    response = log_in(client, username="alice", password=password, address="198.51.100.7")

    assert response.status_code == 302
    assert is_logged_in_as(client, alice)


def test_a_lockout_ends_after_the_cool_off(client, alice, password, settings):
    for _ in range(5):
        log_in(client, username="alice", password="wrong")
    AccessAttempt.objects.update(attempt_time=timezone.now() - settings.AXES_COOLOFF_TIME - timedelta(seconds=1))

    response = log_in(client, username="alice", password=password)

    assert response.status_code == 302
    assert is_logged_in_as(client, alice)


def test_a_successful_login_forgets_earlier_failures(client, alice, password):
    for _ in range(4):
        log_in(client, username="alice", password="wrong")
    log_in(client, username="alice", password=password)
    client.post("/accounts/logout/")

    for _ in range(4):
        assert log_in(client, username="alice", password="wrong").status_code == 200
    assert log_in(client, username="alice", password=password).status_code == 302


def test_logging_out_takes_a_post_and_ends_the_session(client, alice):
    client.force_login(alice)

    assert client.get("/accounts/logout/").status_code == 405
    response = client.post("/accounts/logout/")

    assert response.status_code == 302
    assert "_auth_user_id" not in client.session


# ---- password change ---------------------------------------------------------------


def test_password_change_needs_a_login(client):
    response = client.get("/accounts/password/")
    assert response.status_code == 302
    assert response.url == "/accounts/login/?next=/accounts/password/"


def test_changing_the_password_keeps_the_session_and_the_new_password_works(client, alice, password):
    client.force_login(alice)
    response = client.post(
        "/accounts/password/",
        {"old_password": password, "new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD},
    )
    assert response.status_code == 302
    assert response.url == "/accounts/password/done/"
    assert client.get(response.url).status_code == 200
    assert is_logged_in_as(client, alice)

    client.post("/accounts/logout/")
    assert log_in(client, username="alice", password=password).status_code == 200
    assert log_in(client, username="alice", password=NEW_PASSWORD).status_code == 302


def test_password_change_with_a_wrong_old_password_changes_nothing(client, alice, password):
    client.force_login(alice)
    response = client.post(
        "/accounts/password/",
        {"old_password": "wrong", "new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD},
    )
    alice.refresh_from_db()
    assert response.status_code == 200
    assert b"Your old password was entered incorrectly" in response.content
    assert alice.check_password(password)


# ---- tokens page ------------------------------------------------------------------


def test_tokens_page_needs_a_login(client):
    response = client.get("/accounts/tokens/")
    assert response.status_code == 302
    assert response.url == "/accounts/login/?next=/accounts/tokens/"


def test_tokens_page_lists_only_my_tokens_without_their_keys(client, alice, bob):
    mine, my_key = create_api_token(user=alice, name="laptop")
    create_api_token(user=bob, name="bobs-secret-script")
    client.force_login(alice)

    response = client.get("/accounts/tokens/")

    assert response.status_code == 200
    assert b"laptop" in response.content
    assert mine.prefix.encode() in response.content
    assert b"never" in response.content
    assert my_key.encode() not in response.content
    assert b"bobs-secret-script" not in response.content


def test_creating_a_token_shows_its_key_once(client, alice):
    client.force_login(alice)

    created = client.post("/accounts/tokens/", {"name": "importer"})
    key = created.context["new_key"]
    later = client.get("/accounts/tokens/")

    token = ApiToken.objects.get(user=alice)
    assert created.status_code == 200
    assert "no-store" in created["Cache-Control"]
    assert token.name == "importer"
    assert token.key_hash == hash_api_key(key=key)
    assert key.encode() in created.content
    assert key.encode() not in later.content
    assert b"importer" in later.content


def test_creating_a_token_without_a_name_is_refused(client, alice):
    client.force_login(alice)
    response = client.post("/accounts/tokens/", {"name": "   "})
    assert response.status_code == 400
    assert b"This field is required" in response.content
    assert not ApiToken.objects.exists()


def test_revoking_a_token_deletes_it_and_says_so(client, alice):
    token, _ = create_api_token(user=alice, name="laptop")
    client.force_login(alice)

    response = client.post(f"/accounts/tokens/{token.pk}/revoke/", follow=True)

    assert response.redirect_chain == [("/accounts/tokens/", 302)]
    assert "Token “laptop” revoked" in response.content.decode()
    assert not ApiToken.objects.exists()


def test_revoking_someone_elses_token_is_not_found_and_keeps_it(client, alice, bob):
    token, _ = create_api_token(user=bob, name="bobs")
    client.force_login(alice)

    response = client.post(f"/accounts/tokens/{token.pk}/revoke/")

    assert response.status_code == 404
    assert ApiToken.objects.filter(pk=token.pk).exists()


def test_revoking_takes_a_post(client, alice):
    token, _ = create_api_token(user=alice, name="laptop")
    client.force_login(alice)
    assert client.get(f"/accounts/tokens/{token.pk}/revoke/").status_code == 405
    assert ApiToken.objects.exists()


@pytest.mark.asyncio
@pytest.mark.django_db(transaction=True)
async def test_the_lockout_page_comes_through_the_async_middleware_chain_as_under_daphne(password):
    await get_user_model().objects.acreate_user(username="erin", password=password)
    client = AsyncClient()

    for _ in range(4):
        await client.post("/accounts/login/", {"username": "erin", "password": "wrong"})
    locked = await client.post("/accounts/login/", {"username": "erin", "password": "wrong"})
    still_locked = await client.post("/accounts/login/", {"username": "erin", "password": password})

    assert locked.status_code == 429
    assert b"Too many failed logins" in locked.content
    assert b"<strong>erin</strong>" in locked.content
    assert still_locked.status_code == 429
