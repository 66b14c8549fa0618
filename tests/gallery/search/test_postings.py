import pytest
from django.db import connection

from gallery import services
from gallery.models import SearchPosting
from gallery.ranking_keys import image_ids_of, scores_of
from gallery.search import postings
from gallery.search.postings import ranked_keys
from gallery.search.selectors import keyword_ids
from gallery.search.services import reindex_images
from tests.gallery.labelled import ESPRESSO, GOLDEN_RETRIEVER, RED, SPORTS_CAR, TABBY, TIGER_CAT, labels

pytestmark = pytest.mark.django_db


def ranking(query: str) -> list[tuple[int, int]]:
    """(image id, score) of every image having each word of `query`, best first, as the process's copy ranks them."""
    ids = keyword_ids(terms=query.split())
    keys = ranked_keys(keywords=ids)
    return list(zip(image_ids_of(keys).tolist(), scores_of(keys).tolist(), strict=True))


def ranking_from_table(query: str) -> list[tuple[int, int]]:
    """The same, summed by the database from the posting table."""
    ids = list(keyword_ids(terms=query.split()).values())
    table = connection.ops.quote_name(SearchPosting._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT image_id, SUM(weight) FROM {table} WHERE keyword_id IN ({', '.join(['%s'] * len(ids))}) "
            "GROUP BY image_id HAVING COUNT(*) = %s ORDER BY SUM(weight) DESC, image_id DESC",
            [*ids, len(ids)],
        )
        return [(image_id, int(score)) for image_id, score in cursor.fetchall()]


QUERIES = ("animal", "cat", "red car", "red animal", "cat car", "feline carnivore")


def test_the_copy_ranks_every_match_as_the_posting_table_sums_them(make_found):
    for probability in (0.9, 0.6, 0.3):
        make_found(labelled=[(TABBY, probability), (SPORTS_CAR, 1 - probability)], colors=[RED])
        make_found(labelled=[(TIGER_CAT, probability), (GOLDEN_RETRIEVER, 0.05)])
        make_found(labelled=[(SPORTS_CAR, probability)], colors=[RED, (220, 0.3)])
        make_found(labelled=[(GOLDEN_RETRIEVER, probability), (TABBY, 0.1)], colors=[RED])

    for query in QUERIES:
        assert ranking(query) == ranking_from_table(query), query
    assert ranking("red animal") and ranking("cat car")


def test_changes_made_after_the_lists_were_read_count_at_once(make_found, user, monkeypatch):
    monkeypatch.setattr(postings, "TABLE_SCORES_PER_QUERY", 1)
    tabby = make_found(labelled=[(TABBY, 0.9)])
    dog = make_found(labelled=[(GOLDEN_RETRIEVER, 0.9)])
    assert [image_id for image_id, _ in ranking("cat")] == [tabby.pk]

    services.set_description(actor=user, image_id=dog.pk, description="chases the cat")
    tabby.labels = labels((ESPRESSO, 0.9))
    tabby.save(update_fields=["labels"])
    reindex_images(image_ids=[tabby.pk])

    assert [image_id for image_id, _ in ranking("cat")] == [dog.pk]
    assert ranking("cat") == ranking_from_table("cat")
    assert [image_id for image_id, _ in ranking("coffee")] == [tabby.pk]


def test_more_changes_since_the_lists_were_read_than_the_copy_takes_reads_them_again(make_found, monkeypatch):
    monkeypatch.setattr(postings, "MAX_CHANGED", 1)
    first = make_found(labelled=[(TABBY, 0.9)])
    second = make_found(labelled=[(TABBY, 0.6)])
    assert [image_id for image_id, _ in ranking("cat")] == [first.pk, second.pk]

    for image, probability in ((first, 0.2), (second, 0.95)):
        image.labels = labels((TABBY, probability))
        image.save(update_fields=["labels"])
    reindex_images(image_ids=[first.pk, second.pk])

    assert [image_id for image_id, _ in ranking("cat")] == [second.pk, first.pk]
    assert ranking("cat") == ranking_from_table("cat")
