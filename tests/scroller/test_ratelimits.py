import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from tests.gallery import images as make

pytestmark = pytest.mark.django_db(transaction=True)

FORM = "application/x-www-form-urlencoded"


@pytest.fixture
def limit(settings):
    def set_limit(name: str, count: int, seconds: int = 600) -> None:
        settings.SCROLLER_RATE_LIMITS = {**settings.SCROLLER_RATE_LIMITS, name: (count, seconds)}

    return set_limit


def assert_rate_limited(response) -> None:
    assert response.status_code == 429, response.content[:200]
    assert response.json()["error"].startswith("too many ")
    assert 0 < int(response["Retry-After"]) <= 600


def assert_rate_limited_page(response) -> None:
    """A form a person fills in answers with a page in the product's look, not JSON."""
    assert response.status_code == 429, response.content[:200]
    assert response["Content-Type"].startswith("text/html")
    assert 0 < int(response["Retry-After"]) <= 600
    assert b"<h1>Too many attempts</h1>" in response.content
    assert f"try again in {response['Retry-After']} s".encode() in response.content


def logged_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_an_address_that_keeps_failing_token_authentication_is_refused_for_a_while(limit, alice_client):
    limit("token_failures", 3)
    guesser = Client(HTTP_AUTHORIZATION="Token not-a-real-key")

    failures = [guesser.get("/api/images/").status_code for _ in range(3)]

    assert failures == [401, 401, 401]
    assert_rate_limited(guesser.get("/api/images/"))


def test_device_flow_starts_are_limited_per_address(limit):
    limit("device_start", 2)

    def start():
        return Client().post("/o/device-authorization/", "client_id=scroller-cli", content_type=FORM)

    assert [start().status_code for _ in range(2)] == [200, 200]
    assert_rate_limited(start())


def test_device_codes_tried_are_limited_per_account(limit, user):
    limit("device_approval", 2)
    client = logged_in(user)

    answers = [client.post("/accounts/device/", {"user_code": "WRONG-CODE"}).status_code for _ in range(2)]

    assert answers == [400, 400]
    assert_rate_limited_page(client.post("/accounts/device/", {"user_code": "WRONG-CODE"}))


def test_password_change_attempts_are_limited_per_account(limit, user):
    limit("password_change", 2)
    client = logged_in(user)
    attempt = {"old_password": "a wrong guess", "new_password1": "x7-long-enough!", "new_password2": "x7-long-enough!"}

    answers = [client.post("/accounts/password/", attempt).status_code for _ in range(2)]

    assert answers == [200, 200]  # the form again, with its error
    assert_rate_limited_page(client.post("/accounts/password/", attempt))


def test_sign_ups_are_limited_per_address(limit):
    limit("signup", 2)

    for index in range(2):
        Client().post("/accounts/signup/", {"username": f"new{index}", "password1": "p", "password2": "q"})

    assert_rate_limited_page(
        Client().post("/accounts/signup/", {"username": "new3", "password1": "p", "password2": "q"})
    )


def test_upload_requests_are_limited_per_account(limit, alice_client):
    limit("uploads", 2)

    def upload():
        return alice_client.post("/api/images/", {"file": [SimpleUploadedFile("a.png", make.solid(color="red"))]})

    assert [upload().status_code for _ in range(2)] == [200, 200]
    assert_rate_limited(upload())
