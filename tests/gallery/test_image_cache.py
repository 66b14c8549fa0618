from gallery.image_cache import StoredParts, new_stored_parts_cache
from gallery.serializers import CardJson, ImageCard, ImageFacts

FACTS = ImageFacts(
    original_name="a.jpg",
    width=512,
    height=512,
    thumbnail_width=400,
    thumbnail_height=400,
    is_monochrome=False,
    colors=((20, 0.5, 0.5, 0.9),),
)


CARD = ImageCard(id=1, owner_id=1, owner_name="someone", visibility="public", facts=FACTS)


def parts(*, thumbnail_bytes: int) -> StoredParts:
    return StoredParts(thumbnail=bytes(thumbnail_bytes), card=CARD, json=CardJson.of(CARD), source=())


def test_what_was_put_is_found_and_the_rest_is_not():
    cache = new_stored_parts_cache(max_bytes=1_000_000)
    cache.put_many({1: parts(thumbnail_bytes=100), 2: parts(thumbnail_bytes=200)})

    found = cache.get_many([2, 3, 1])

    assert set(found) == {1, 2}
    assert len(found[2].thumbnail) == 200


def test_the_least_recently_used_entries_go_first_once_over_budget():
    entry = parts(thumbnail_bytes=10_000)
    cache = new_stored_parts_cache(max_bytes=3 * entry.size)
    cache.put_many({1: entry, 2: entry, 3: entry})
    cache.get_many([1])

    cache.put_many({4: entry})

    assert 2 not in cache
    assert all(image_id in cache for image_id in (1, 3, 4))
    assert cache.size_held <= cache.max_size


def test_putting_an_entry_again_does_not_count_it_twice():
    entry = parts(thumbnail_bytes=1000)
    cache = new_stored_parts_cache(max_bytes=1_000_000)

    cache.put_many({1: entry})
    cache.put_many({1: entry})

    assert len(cache) == 1
    assert cache.size_held == entry.size


def test_an_entry_larger_than_the_whole_budget_is_not_kept():
    cache = new_stored_parts_cache(max_bytes=5000)

    cache.put_many({1: parts(thumbnail_bytes=10_000)})

    assert len(cache) == 0 and cache.size_held == 0


def test_a_zero_budget_keeps_nothing():
    cache = new_stored_parts_cache(max_bytes=0)

    cache.put_many({1: parts(thumbnail_bytes=10)})

    assert cache.get_many([1]) == {}
