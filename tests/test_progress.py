"""Progress bars: a forked process killed while holding the bars' lock must not freeze its parent (the deadlock a
kill-and-resume test once hit: tqdm's default lock is a semaphore shared across fork)."""

import multiprocessing
import os
import signal

from dynlatch._progress import progress_bar

FORK = multiprocessing.get_context("fork")


def _hold_the_lock_and_wait(held):
    progress_bar(1, "child", enabled=False).get_lock().acquire()
    held.set()
    signal.pause()


def _scenario():
    """Fork a child that takes the bars' lock and is SIGKILLed holding it; then make a bar here."""
    progress_bar(1, "before", enabled=False).close()  # the lock exists before the fork, as in a real run
    held = FORK.Event()
    child = FORK.Process(target=_hold_the_lock_and_wait, args=(held,))
    child.start()
    assert held.wait(60)
    os.kill(child.pid, signal.SIGKILL)
    child.join()
    with progress_bar(3, "after", enabled=False) as bar:
        bar.update(3)


def test_a_killed_forked_child_holding_the_lock_does_not_freeze_the_parent():
    # run in a forked process of its own, so that a regression deadlocks that process (killed below), not the suite
    proc = FORK.Process(target=_scenario)
    proc.start()
    proc.join(60)
    if proc.exitcode is None:
        proc.kill()
        proc.join()
        raise AssertionError("making a progress bar blocked on a lock held by a killed child")
    assert proc.exitcode == 0
