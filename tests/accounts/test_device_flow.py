"""The OAuth 2.0 device authorization grant (RFC 8628) as the command-line client and a person in a browser go through it."""

from datetime import timedelta
from urllib.parse import urlencode, urlsplit

import pytest
from asgiref.sync import async_to_sync
from django.test import AsyncRequestFactory, Client
from django.utils import timezone
from oauth2_provider.models import get_access_token_model, get_application_model, get_device_grant_model

from accounts.authentication import AuthenticationFailed, authenticate_api_request
from accounts.services import CLI_CLIENT_ID, DEVICE_CODE_GRANT_TYPE

pytestmark = pytest.mark.django_db

DeviceGrant = get_device_grant_model()


@pytest.fixture
def device() -> Client:
    """The command-line client: no session, no CSRF token, just form posts."""
    return Client(enforce_csrf_checks=True)


@pytest.fixture
def browser(alice) -> Client:
    browser = Client()
    browser.force_login(alice)
    return browser


def form_post(client: Client, path: str, form: dict):
    """A POST as OAuth clients send it: application/x-www-form-urlencoded."""
    return client.post(path, urlencode(form), content_type="application/x-www-form-urlencoded")


def start_device_authorization(device: Client) -> dict:
    response = form_post(device, "/o/device-authorization/", {"client_id": CLI_CLIENT_ID})
    assert response.status_code == 200, response.content
    return response.json()


def poll_token(device: Client, device_code: str, *, client_id: str = CLI_CLIENT_ID):
    return form_post(
        device, "/o/token/", {"grant_type": DEVICE_CODE_GRANT_TYPE, "device_code": device_code, "client_id": client_id}
    )


def let_the_interval_pass(device_code: str) -> None:
    """Move the last poll back by the interval, as waiting that long would."""
    grant = DeviceGrant.objects.get(device_code=device_code)
    DeviceGrant.objects.filter(pk=grant.pk).update(last_checked=timezone.now() - timedelta(seconds=grant.interval))


def path_of(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.path}?{parts.query}" if parts.query else parts.path


def decide(browser: Client, user_code: str, action: str):
    return browser.post("/accounts/device/", {"user_code": user_code, "action": action})


def api_user_for_bearer(access_token: str):
    request = AsyncRequestFactory().get("/api/images/", headers={"Authorization": f"Bearer {access_token}"})
    return async_to_sync(authenticate_api_request)(request)


def test_device_authorization_answers_codes_and_absolute_verification_uris(device):
    answer = start_device_authorization(device)

    assert set(answer) >= {
        "device_code",
        "user_code",
        "verification_uri",
        "verification_uri_complete",
        "expires_in",
        "interval",
    }
    assert answer["verification_uri"] == "http://testserver/accounts/device/"
    assert answer["verification_uri_complete"] == f"http://testserver/accounts/device/?user_code={answer['user_code']}"
    assert answer["interval"] == 5
    assert answer["expires_in"] == 1800
    user_code = answer["user_code"]
    assert len(user_code) == 9 and user_code[4] == "-"
    assert set(user_code.replace("-", "")) <= set("BCDFGHJKLMNPQRSTVWXZ")


def test_the_cli_application_is_a_public_device_code_client_created_on_first_use(device):
    assert not get_application_model().objects.exists()

    start_device_authorization(device)
    start_device_authorization(device)

    application = get_application_model().objects.get()
    assert application.client_id == CLI_CLIENT_ID
    assert application.client_type == "public"
    assert application.authorization_grant_type == DEVICE_CODE_GRANT_TYPE


def test_an_unknown_client_gets_no_device_code(device):
    response = form_post(device, "/o/device-authorization/", {"client_id": "not-a-client"})
    assert response.status_code == 401
    assert response.json()["error"] == "invalid_client"
    assert not DeviceGrant.objects.exists()


def test_device_authorization_without_a_client_id_is_a_bad_request(device):
    response = form_post(device, "/o/device-authorization/", {"scope": "api"})
    assert response.status_code == 400
    assert response.json() == {"error": "invalid_request", "error_description": "client_id is required."}


def test_device_authorization_accepts_a_charset_on_the_form_content_type(device):
    response = device.post(
        "/o/device-authorization/",
        urlencode({"client_id": CLI_CLIENT_ID}),
        content_type="application/x-www-form-urlencoded; charset=utf-8",
    )
    assert response.status_code == 200
    assert response.json()["user_code"]


def test_device_authorization_refuses_a_body_that_is_not_a_form(device):
    response = device.post("/o/device-authorization/", {"client_id": CLI_CLIENT_ID})
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_request"
    assert not DeviceGrant.objects.exists()


def test_approved_device_gets_an_access_token_that_authenticates_the_api(device, alice):
    answer = start_device_authorization(device)

    # The person opens verification_uri_complete, is sent to log in, and comes back to the approval page.
    browser = Client()
    to_login = browser.get(path_of(answer["verification_uri_complete"]))
    assert to_login.status_code == 302
    login_page = browser.get(to_login["Location"])
    back = browser.post(
        to_login["Location"],
        {"username": "alice", "password": "a-long-and-unguessable-passphrase-42", "next": login_page.context["next"]},
    )
    assert back.status_code == 302
    confirm = browser.get(back["Location"])
    assert confirm.status_code == 200
    assert answer["user_code"] in confirm.content.decode()
    assert "Scroller command line" in confirm.content.decode()
    assert "Use the Scroller API as you" in confirm.content.decode()

    done = decide(browser, answer["user_code"], "approve")
    assert done.status_code == 200
    assert b"Device connected" in done.content

    let_the_interval_pass(answer["device_code"])
    response = poll_token(device, answer["device_code"])

    assert response.status_code == 200, response.content
    token = response.json()
    assert token["token_type"] == "Bearer"
    assert token["scope"] == "api"
    assert token["refresh_token"]
    assert response["Cache-Control"] == "no-store"
    assert api_user_for_bearer(token["access_token"]) == alice
    stored = get_access_token_model().objects.get()
    assert stored.user == alice
    assert stored.token == ""


def test_a_device_code_buys_one_token_only(device, browser):
    answer = start_device_authorization(device)
    decide(browser, answer["user_code"], "approve")
    let_the_interval_pass(answer["device_code"])
    assert poll_token(device, answer["device_code"]).status_code == 200

    replay = poll_token(device, answer["device_code"])

    assert replay.status_code == 400
    assert replay.json()["error"] == "invalid_grant"
    assert get_access_token_model().objects.count() == 1


def test_the_refresh_token_buys_a_new_access_token(device, browser, alice):
    answer = start_device_authorization(device)
    decide(browser, answer["user_code"], "approve")
    let_the_interval_pass(answer["device_code"])
    first = poll_token(device, answer["device_code"]).json()

    refreshed = form_post(
        device,
        "/o/token/",
        {"grant_type": "refresh_token", "refresh_token": first["refresh_token"], "client_id": CLI_CLIENT_ID},
    )

    assert refreshed.status_code == 200, refreshed.content
    assert refreshed.json()["access_token"] != first["access_token"]
    assert api_user_for_bearer(refreshed.json()["access_token"]) == alice


def test_polling_before_approval_is_pending(device):
    answer = start_device_authorization(device)
    let_the_interval_pass(answer["device_code"])

    response = poll_token(device, answer["device_code"])

    assert response.status_code == 400
    assert response.json()["error"] == "authorization_pending"
    assert response["Cache-Control"] == "no-store"


def test_polling_faster_than_the_interval_is_told_to_slow_down_by_five_seconds(device):
    answer = start_device_authorization(device)

    too_soon = poll_token(device, answer["device_code"])
    again_too_soon = poll_token(device, answer["device_code"])
    let_the_interval_pass(answer["device_code"])
    patient = poll_token(device, answer["device_code"])

    assert too_soon.status_code == 400
    assert too_soon.json()["error"] == "slow_down"
    assert too_soon.json()["interval"] == 10
    assert again_too_soon.json()["interval"] == 15
    assert patient.json()["error"] == "authorization_pending"


def test_a_denied_device_gets_access_denied_and_no_token(device, browser):
    answer = start_device_authorization(device)

    page = decide(browser, answer["user_code"], "deny")
    let_the_interval_pass(answer["device_code"])
    response = poll_token(device, answer["device_code"])

    assert b"Device denied" in page.content
    assert response.status_code == 400
    assert response.json()["error"] == "access_denied"
    assert not get_access_token_model().objects.exists()


def test_an_expired_device_code_gets_expired_token_and_cannot_be_approved(device, browser):
    answer = start_device_authorization(device)
    DeviceGrant.objects.update(expires=timezone.now() - timedelta(seconds=1))

    page = decide(browser, answer["user_code"], "approve")
    response = poll_token(device, answer["device_code"])

    assert page.status_code == 400
    assert b"That code has expired" in page.content
    assert response.status_code == 400
    assert response.json()["error"] == "expired_token"
    assert not get_access_token_model().objects.exists()


def test_an_approved_but_expired_device_code_gets_no_token(device, browser):
    answer = start_device_authorization(device)
    decide(browser, answer["user_code"], "approve")
    DeviceGrant.objects.update(expires=timezone.now() - timedelta(seconds=1))

    response = poll_token(device, answer["device_code"])

    assert response.json()["error"] == "expired_token"
    assert not get_access_token_model().objects.exists()


def test_a_device_code_is_bound_to_its_client(device, browser):
    answer = start_device_authorization(device)
    decide(browser, answer["user_code"], "approve")
    get_application_model().objects.create(
        client_id="other-cli", name="other", client_type="public", authorization_grant_type=DEVICE_CODE_GRANT_TYPE
    )
    let_the_interval_pass(answer["device_code"])

    response = poll_token(device, answer["device_code"], client_id="other-cli")

    assert response.status_code == 400
    assert response.json()["error"] == "invalid_grant"
    assert not get_access_token_model().objects.exists()


@pytest.mark.parametrize(
    ("form", "error"),
    [
        ({"grant_type": DEVICE_CODE_GRANT_TYPE, "client_id": CLI_CLIENT_ID}, "invalid_request"),
        ({"grant_type": DEVICE_CODE_GRANT_TYPE, "client_id": CLI_CLIENT_ID, "device_code": "made-up"}, "invalid_grant"),
    ],
)
def test_a_missing_or_unknown_device_code_is_refused(device, form, error):
    response = form_post(device, "/o/token/", form)
    assert response.status_code == 400
    assert response.json()["error"] == error


def test_the_verification_page_needs_a_login(device):
    answer = start_device_authorization(device)
    response = Client().get(path_of(answer["verification_uri_complete"]))
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/?next=/accounts/device/")


def test_a_typed_code_is_accepted_in_any_case_and_spacing(device, browser):
    answer = start_device_authorization(device)
    typed = " " + answer["user_code"].replace("-", " ").lower() + " "

    confirm = browser.post("/accounts/device/", {"user_code": typed})

    assert confirm.status_code == 200
    assert b"Approve this device?" in confirm.content
    assert answer["user_code"].encode() in confirm.content


def test_the_verification_page_without_a_code_asks_for_one(browser):
    response = browser.get("/accounts/device/")
    assert response.status_code == 200
    assert b'name="user_code"' in response.content


@pytest.mark.parametrize(
    ("typed", "message"),
    [
        ("hello", b"That is not a device code"),
        ("BBBB-BBBB", b"No device is waiting for that code"),
    ],
)
def test_a_wrong_code_is_explained_and_changes_nothing(device, browser, typed, message):
    start_device_authorization(device)
    response = browser.post("/accounts/device/", {"user_code": typed})
    assert response.status_code == 400
    assert message in response.content
    assert DeviceGrant.objects.get().status == DeviceGrant.AUTHORIZATION_PENDING


def test_a_code_cannot_be_decided_twice(device, browser, bob):
    answer = start_device_authorization(device)
    decide(browser, answer["user_code"], "approve")
    other_browser = Client()
    other_browser.force_login(bob)

    response = decide(other_browser, answer["user_code"], "deny")

    grant = DeviceGrant.objects.get()
    assert response.status_code == 400
    assert b"That code has already been used" in response.content
    assert grant.status == DeviceGrant.AUTHORIZED
    assert grant.user.username == "alice"


def test_an_unknown_decision_is_refused(device, browser):
    answer = start_device_authorization(device)
    response = decide(browser, answer["user_code"], "maybe")
    assert response.status_code == 400
    assert DeviceGrant.objects.get().status == DeviceGrant.AUTHORIZATION_PENDING


def test_a_bearer_token_stops_working_when_it_expires(device, browser):
    answer = start_device_authorization(device)
    decide(browser, answer["user_code"], "approve")
    let_the_interval_pass(answer["device_code"])
    access_token = poll_token(device, answer["device_code"]).json()["access_token"]
    get_access_token_model().objects.update(expires=timezone.now() - timedelta(seconds=1))

    with pytest.raises(AuthenticationFailed, match="expired access token"):
        api_user_for_bearer(access_token)
