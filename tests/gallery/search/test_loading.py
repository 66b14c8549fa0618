import threading
from concurrent.futures import ThreadPoolExecutor

from gallery.search.loading import load_once

THREADS = 4
# How long the first load waits for a second thread to start loading too, which must not happen.
SECOND_LOAD_WAIT_S = 0.3


def test_threads_asking_at_the_same_moment_share_one_load():
    loads = []
    second_load_started = threading.Event()
    everyone_asking = threading.Barrier(THREADS)

    @load_once
    def load() -> object:
        loads.append(threading.get_ident())
        if len(loads) > 1:
            second_load_started.set()
        second_load_started.wait(SECOND_LOAD_WAIT_S)
        return object()

    def ask() -> object:
        everyone_asking.wait()
        return load()

    with ThreadPoolExecutor(max_workers=THREADS) as pool:
        results = list(pool.map(lambda _: ask(), range(THREADS)))

    assert len(loads) == 1
    assert all(result is results[0] for result in results)
