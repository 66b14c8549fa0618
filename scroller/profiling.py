"""Profile a server process's event loop for the benchmarks: SCROLLER_PROFILE_TO=/tmp/daphne.prof.

cProfile follows the thread that starts it, which here is the main thread: Twisted's reactor and the
asyncio loop that runs every consumer and every websocket frame. Database threads are not in it.
The statistics are written when the process exits (SIGTERM included: Daphne stops its reactor and returns).
"""

import atexit
import cProfile
import os


def profile_if_asked() -> None:
    path = os.environ.get("SCROLLER_PROFILE_TO")
    if not path:
        return
    profiler = cProfile.Profile()
    profiler.enable()

    def write() -> None:
        profiler.disable()
        profiler.dump_stats(path)

    atexit.register(write)
