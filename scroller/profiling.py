"""Profile a server process for the benchmarks: SCROLLER_PROFILE_TO=/tmp/daphne.prof.

cProfile follows one thread, so each thread gets its own, counting CPU time (not time spent waiting): the main thread (Twisted's reactor and the
asyncio loop that runs every consumer and every websocket frame) and every thread started after it
(the database pools). Their statistics are merged into one file when the process exits (SIGTERM
included: Daphne stops its reactor and returns). Read it with `python -m pstats FILE`.
"""

import atexit
import cProfile
import os
import pstats
import threading
import time


def profile_if_asked() -> None:
    path = os.environ.get("SCROLLER_PROFILE_TO")
    if not path:
        return
    profilers = [cProfile.Profile(time.thread_time)]

    def profile_this_thread(*_event: object) -> None:
        profiler = cProfile.Profile(time.thread_time)
        profilers.append(profiler)
        profiler.enable()

    def write() -> None:
        profilers[0].disable()
        stats = pstats.Stats(profilers[0])
        for profiler in profilers[1:]:
            stats.add(profiler)
        stats.dump_stats(path)

    threading.setprofile(profile_this_thread)
    profilers[0].enable()
    atexit.register(write)
