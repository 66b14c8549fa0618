import io

import numpy as np
from PIL import Image as PILImage

from gallery.similar.phash import NEAR_DUPLICATE_BITS, hamming_distances, perceptual_hash
from tests.gallery import images as make


def resized_and_reencoded(data: bytes, *, scale: float, quality: int) -> bytes:
    picture = PILImage.open(io.BytesIO(data)).convert("RGB")
    smaller = picture.resize((round(picture.width * scale), round(picture.height * scale)))
    return make.encode(smaller, image_format="JPEG", quality=quality)


def hash_of(data: bytes) -> int:
    return perceptual_hash(PILImage.open(io.BytesIO(data)).convert("RGB"))


def distance(first: int, second: int) -> int:
    return int(hamming_distances(np.array([first], dtype=np.int64), second)[0])


def test_a_resized_re_encoded_copy_keeps_nearly_the_same_hash():
    photo = make.scene(seed=11)

    copy = resized_and_reencoded(photo, scale=0.55, quality=60)

    assert distance(hash_of(photo), hash_of(copy)) <= NEAR_DUPLICATE_BITS


def test_a_different_photo_has_a_distant_hash():
    assert distance(hash_of(make.scene(seed=11)), hash_of(make.scene(seed=12))) > NEAR_DUPLICATE_BITS


def test_hashes_are_signed_64_bit_integers_as_the_database_keeps_them():
    # The first bit compares the mean brightness (the DCT's first coefficient), which is nearly always above the median.
    values = [hash_of(make.scene(width=200, height=150, seed=seed)) for seed in range(8)]

    assert all(-(2**63) <= value < 0 for value in values)
