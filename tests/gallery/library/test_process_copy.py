import threading

from gallery.library.process_copy import ProcessCopy

NAME = "test-process-copy"


def finish_reloads() -> None:
    for thread in threading.enumerate():
        if thread.name == NAME:
            thread.join()


def test_a_reload_in_the_background_swaps_in_a_fresh_copy_and_runs_once_however_often_asked():
    may_finish = threading.Event()
    reads: list[int] = []

    def read_all() -> list[int]:
        reads.append(len(reads))
        may_finish.wait()
        return [len(reads)]

    copy = ProcessCopy(name=NAME, read_all=read_all)
    copy.current = [0]
    with copy.lock:
        copy.reload_in_background()
        copy.reload_in_background()
    assert copy.current == [0]  # requests go on with the copy they have

    may_finish.set()
    finish_reloads()

    assert reads == [0]
    assert copy.current == [1]


def test_a_reload_that_fails_is_logged_keeps_the_copy_in_hand_and_lets_the_next_one_run(caplog):
    attempts: list[int] = []

    def read_all() -> list[int]:
        attempts.append(len(attempts))
        if len(attempts) == 1:
            raise RuntimeError("the database went away")
        return [2]

    copy = ProcessCopy(name=NAME, read_all=read_all)
    copy.current = [0]
    with copy.lock:
        copy.reload_in_background()
    finish_reloads()
    assert copy.current == [0]
    assert f"reading the {NAME} again failed" in caplog.text

    with copy.lock:
        copy.reload_in_background()
    finish_reloads()

    assert copy.current == [2]


def test_forgetting_drops_the_copy():
    copy = ProcessCopy(name=NAME, read_all=lambda: [1])
    copy.current = [0]

    copy.forget()

    assert copy.current is None
