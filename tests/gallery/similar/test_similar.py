"""Near-duplicates at upload, and "more like this" over HTTP."""

import io

import numpy as np
import pytest

from gallery import services
from gallery.library.snapshot import palette_points
from gallery.similar.selectors import PaletteColumns, palette_distances
from tests.gallery import images as make
from tests.gallery.similar.test_phash import resized_and_reencoded
from tests.gallery.stored import store_image

pytestmark = pytest.mark.django_db(transaction=True)


def upload(client, data: bytes, *, name: str = "photo.jpg") -> dict:
    response = client.post("/api/images/", {"file": [make_file(data, name)]})
    assert response.status_code == 200, response.content
    [result] = response.json()["results"]
    return result


def make_file(data: bytes, name: str):
    file = io.BytesIO(data)
    file.name = name
    return file


def test_a_resized_re_encoded_copy_is_stored_but_called_a_near_duplicate(alice_client):
    photo = make.scene(seed=21)
    first = upload(alice_client, photo)

    copy = upload(alice_client, resized_and_reencoded(photo, scale=0.5, quality=70), name="copy.jpg")
    different = upload(alice_client, make.scene(seed=22), name="other.jpg")

    assert first["near_duplicate_of"] is None
    assert copy["status"] == "created"
    assert copy["near_duplicate_of"] == first["id"]
    assert copy["near_duplicate_url"] == f"/images/{first['id']}/"
    assert copy["page_url"] == f"/images/{copy['id']}/"
    assert different["status"] == "created"
    assert different["near_duplicate_of"] is None


def test_only_the_same_owners_images_make_an_upload_a_near_duplicate(alice_client, bob_client):
    photo = make.scene(seed=23)
    upload(alice_client, photo)

    assert upload(bob_client, resized_and_reencoded(photo, scale=0.5, quality=70))["near_duplicate_of"] is None


def test_an_upload_is_called_a_near_duplicate_of_the_nearest_living_image_not_of_one_deleted_since(alice_client, user):
    photo = make.scene(seed=24)
    first = upload(alice_client, photo)
    copy = upload(alice_client, resized_and_reencoded(photo, scale=0.5, quality=70), name="copy.jpg")
    assert copy["near_duplicate_of"] == first["id"]

    services.soft_delete_image(actor=user, image_id=first["id"])
    # Re-encoded at full size, it is nearer to the deleted first image than to the copy.
    another = upload(alice_client, resized_and_reencoded(photo, scale=1.0, quality=95), name="another.jpg")

    assert another["near_duplicate_of"] == copy["id"]


def test_images_of_one_upload_are_near_duplicates_of_each_other(alice_client):
    photo = make.scene(seed=25)
    response = alice_client.post(
        "/api/images/",
        {
            "file": [
                make_file(photo, "photo.jpg"),
                make_file(resized_and_reencoded(photo, scale=0.5, quality=70), "copy.jpg"),
            ]
        },
    )

    first, copy = response.json()["results"]
    assert first["near_duplicate_of"] is None
    assert copy["near_duplicate_of"] == first["id"]


def test_similar_lists_near_duplicates_first_then_the_closest_palettes(client, user):
    photo = make.scene(seed=31)
    source = store_image(owner=user, data=photo, filename="source.jpg")
    copy = store_image(owner=user, data=resized_and_reencoded(photo, scale=0.5, quality=70), filename="copy.jpg")
    close = store_image(owner=user, data=make.scene(seed=32))
    red = store_image(owner=user, color=(230, 20, 20))

    body = client.get(f"/api/images/{source.pk}/similar?limit=3").json()

    ids = [item["id"] for item in body["results"]]
    assert ids[0] == copy.pk
    assert body["results"][0]["near_duplicate"] is True
    assert ids[1:] == [close.pk, red.pk]
    assert [item["near_duplicate"] for item in body["results"][1:]] == [False, False]
    assert body["results"][1]["page_url"] == f"/images/{close.pk}/"


def test_similar_never_shows_what_the_viewer_may_not_see(client, bob_client, user, other_user):
    photo = make.scene(seed=41)
    source = store_image(owner=user, data=photo)
    private_copy = store_image(
        owner=other_user, data=resized_and_reencoded(photo, scale=0.5, quality=70), visibility="private"
    )
    deleted = store_image(owner=user, data=make.scene(width=320, height=240, seed=42))
    services.soft_delete_image(actor=user, image_id=deleted.pk)
    public = store_image(owner=user, color=(10, 200, 30))

    anonymous = [item["id"] for item in client.get(f"/api/images/{source.pk}/similar").json()["results"]]
    bobs = [item["id"] for item in bob_client.get(f"/api/images/{source.pk}/similar").json()["results"]]

    assert anonymous == [public.pk]
    assert bobs[0] == private_copy.pk  # his own
    assert deleted.pk not in bobs


def test_similar_of_an_image_the_viewer_may_not_see_is_a_404_and_limit_is_checked(client, alice_client, user):
    private = store_image(owner=user, visibility="private")

    assert client.get(f"/api/images/{private.pk}/similar").status_code == 404
    response = alice_client.get(f"/api/images/{private.pk}/similar?limit=0")
    assert response.status_code == 400
    assert response.json() == {"error": "limit must be between 1 and 100"}


def test_palette_distance_wraps_the_hue_circle_and_weighs_shares():
    red_355 = palette_points([[355, 0.8, 0.8, 0.9]])
    palettes = [
        palette_points([[5, 0.8, 0.8, 0.9]]),  # 10° away across 0°
        palette_points([[30, 0.8, 0.8, 0.9]]),  # 35° away
        palette_points([[355, 0.8, 0.8, 0.3], [200, 0.8, 0.8, 0.6]]),  # the same red, but little of it
    ]
    distances = palette_distances(red_355, PaletteColumns.of(np.stack(palettes)))

    assert distances[0] < distances[1]
    assert distances[0] < distances[2]


def test_palette_distance_is_the_share_weighted_nearest_colour_distance_both_ways():
    """The vectorised distance against the definition, colour by colour, for palettes of one to four colours."""
    rng = np.random.default_rng(7)
    palettes = [
        palette_points([[int(rng.integers(360)), rng.random(), rng.random(), rng.random()] for _ in range(size)])
        for size in (1, 2, 3, 4, 4, 2)
    ]

    def by_definition(ours: np.ndarray, theirs: np.ndarray) -> float:
        ours, theirs = ours[ours[:, 3] > 0], theirs[theirs[:, 3] > 0]

        def distance(a, b):
            return float(np.linalg.norm(a[:3] - b[:3]) + abs(a[3] - b[3]))

        return sum(a[3] * min(distance(a, b) for b in theirs) for a in ours) + sum(
            b[3] * min(distance(a, b) for a in ours) for b in theirs
        )

    for ours in palettes:
        distances = palette_distances(ours, PaletteColumns.of(np.stack(palettes)))
        assert distances == pytest.approx([by_definition(ours, theirs) for theirs in palettes], abs=1e-4)
