import pytest
from django.contrib.auth.models import User
from django.db import connection
from django.test.utils import CaptureQueriesContext

from gallery.models import Image
from tests.gallery.stored import store_image

# Every byte value, the ones SQL string literals escape (quote, backslash, NUL, ^Z) among them,
# and sequences that are not UTF-8: a blob is not text.
EVERY_BYTE = bytes(range(256)) + b"'\\\0\x1a\xff\xfe" + "é".encode("latin-1")


@pytest.mark.django_db
def test_binary_fields_store_every_byte_value_exactly():
    image = store_image(owner=User.objects.create_user("blob"))
    Image.objects.filter(pk=image.pk).update(thumbnail=EVERY_BYTE, mosaic_tile=b"")
    image.refresh_from_db()
    assert bytes(image.thumbnail) == EVERY_BYTE
    assert image.mosaic_tile is not None and bytes(image.mosaic_tile) == b""


@pytest.mark.django_db
def test_mariadb_receives_thumbnails_as_hex_literals():
    if connection.vendor != "mysql":
        pytest.skip("the hex literal is how MariaDB is sent binary values; SQLite takes them as parameters")
    owner = User.objects.create_user("hex")
    with CaptureQueriesContext(connection) as queries:
        image = store_image(owner=owner)
    [insert] = [query["sql"] for query in queries if query["sql"].startswith("INSERT INTO `gallery_image`")]
    assert f"X'{bytes(image.thumbnail).hex()}'" in insert
