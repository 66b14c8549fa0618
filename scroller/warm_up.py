"""What a server process loads before it listens, so that no visitor's request is the one that waits for it.

Loaded lazily, these cost the first upload after every start about 1.5 s of CPU (measured): the
URL configuration, which imports every view module (1.0 s), the search vocabulary read from
WordNet (0.2 s), and the ingest pool's worker processes, each importing the image libraries.
Loaded here, they are also in place before `gc.freeze()` (scroller.asgi), which keeps the
collector from walking them.
"""

from django.urls import get_resolver

from gallery.ingest import start_ingest_pool
from gallery.search.terms import known_phrases


def warm_up() -> None:
    get_resolver().url_patterns  # noqa: B018 (the property imports the views)
    known_phrases()
    start_ingest_pool()
