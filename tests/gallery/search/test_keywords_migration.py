import importlib

import pytest
from django.db import connection

from gallery.models import SearchKeyword, SearchPosting
from tests.gallery.labelled import TABBY

migration = importlib.import_module("gallery.migrations.0009_search_keywords")

# The migration's DDL commits on MariaDB, so these tests clean up after themselves instead of rolling back.
pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def old_index_table():
    """The index as it was before the migration: gallery_searchterm (image, term, weight), strings repeated."""
    with connection.cursor() as cursor:
        cursor.execute(
            "CREATE TABLE gallery_searchterm (image_id BIGINT NOT NULL, term VARCHAR(100) NOT NULL, "
            "weight SMALLINT NOT NULL, PRIMARY KEY (image_id, term))"
        )
    yield
    with connection.cursor() as cursor:
        cursor.execute("DROP TABLE gallery_searchterm")


def test_the_old_index_is_copied_into_keywords_and_postings_and_still_finds_the_same_images(
    client, make_found, old_index_table
):
    tabby = make_found(labelled=[(TABBY, 0.9)], description="café")
    plain = make_found(description="cafe")
    texts = dict(SearchKeyword.objects.values_list("id", "text"))
    old_rows = [
        (posting.image_id, texts[posting.keyword_id], posting.weight) for posting in SearchPosting.objects.all()
    ]
    with connection.cursor() as cursor:
        cursor.executemany("INSERT INTO gallery_searchterm (image_id, term, weight) VALUES (%s, %s, %s)", old_rows)
    SearchPosting.objects.all().delete()
    SearchKeyword.objects.all().delete()

    with connection.schema_editor() as editor:
        migration.copy_terms_to_postings(None, editor)

    assert SearchPosting.objects.count() == len(old_rows)
    assert client.get("/api/images/", {"q": "cat"}).json()["results"][0]["id"] == tabby.pk
    assert [item["id"] for item in client.get("/api/images/", {"q": "café"}).json()["results"]] == [tabby.pk]
    assert [item["id"] for item in client.get("/api/images/", {"q": "cafe"}).json()["results"]] == [plain.pk]
