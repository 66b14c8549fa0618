"""A ranked image as one int64: its integer score above its id, as palette and text search keep their rankings.

One descending sort of the keys is then the ranking (score descending, then the newer image first,
a total order), and a page's cursor (score, id) is one comparison with a key.
"""

import numpy as np

ID_BITS = 32
_ID_MASK = (1 << ID_BITS) - 1


def ranking_keys(*, scores: np.ndarray, image_ids: np.ndarray) -> np.ndarray:
    """`scores` (non-negative integers) and `image_ids` (below 2**32), pair by pair, as keys (int64)."""
    return scores.astype(np.int64, copy=False) << ID_BITS | image_ids.astype(np.int64, copy=False)


def key_of(*, score: int, image_id: int) -> int:
    return score << ID_BITS | image_id


def image_ids_of(keys: np.ndarray) -> np.ndarray:
    return keys & _ID_MASK


def scores_of(keys: np.ndarray) -> np.ndarray:
    return keys >> ID_BITS
