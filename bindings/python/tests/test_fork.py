"""Fork safety: a child process forked after the library ran parallel work or started a loader's
background threads (multiprocessing with the fork start method) computes on its calling thread and never
waits for threads that exist only in the parent. Every child runs under a timeout, so a hang fails the test
instead of blocking CI."""

from __future__ import annotations

import multiprocessing
import sys
from typing import Any, Callable

import numpy as np
import pytest

import unetseg

from conftest import TINY, make_batch

pytestmark = pytest.mark.skipif(sys.platform != "linux", reason="fork start method on Linux")

#: A generous bound on a child's work: reaching it means the child hangs.
CHILD_SECONDS = 120


def in_forked_child(work: Callable[[], Any]) -> Any:
    """``work()``'s result, computed in a child forked from this process (killed after CHILD_SECONDS)."""
    context = multiprocessing.get_context("fork")
    results = context.Queue()

    def child() -> None:
        try:
            results.put(("ok", work()))
        except BaseException as error:  # noqa: BLE001 - reported to the parent
            results.put(("error", repr(error)))

    process = context.Process(target=child, daemon=True)
    process.start()
    try:
        outcome, value = results.get(timeout=CHILD_SECONDS)
    except Exception:  # noqa: BLE001 - queue.Empty: the child hangs (or died without a word)
        process.kill()
        process.join()
        pytest.fail(f"the forked child did not answer within {CHILD_SECONDS} s (exit code {process.exitcode})")
    process.join(CHILD_SECONDS)
    assert outcome == "ok", value
    return value


@pytest.fixture
def two_threads():
    before = unetseg.get_num_threads()
    unetseg.set_num_threads(2)
    yield
    unetseg.set_num_threads(before)


def test_child_forked_after_parallel_work_computes_on_one_thread(two_threads):
    images, _ = make_batch(5, n=2, size=64)
    with unetseg.UNet(seed=6, **TINY) as model:
        model.eval()
        expected = model.predict(images)  # starts the library's worker threads in this process
        threads, predicted = in_forked_child(lambda: (unetseg.get_num_threads(), model.predict(images)))
        assert threads == 1
        np.testing.assert_allclose(predicted, expected, rtol=1e-5, atol=1e-6)
        assert unetseg.get_num_threads() == 2  # the parent keeps its threads
        np.testing.assert_array_equal(model.predict(images), expected)


def test_loader_threads_started_before_fork_are_not_waited_for(tmp_path):
    root = tmp_path / "kaggle_3m"
    unetseg.synthesize(root, patients=2, min_slices=8, max_slices=8, size=32, seed=4, progress=False)
    with unetseg.BrainSegDataset(root) as dataset, \
            unetseg.DataLoader(dataset, batch_size=1, workers=2) as threaded, \
            unetseg.DataLoader(dataset, batch_size=1) as serial:
        expected = [images.numpy() for images, _ in serial]
        first = threaded.next_batch()  # the background threads start, in this process only
        assert first is not None and np.array_equal(first[0].numpy(), expected[0])

        def rest_of_epoch() -> list:
            batches = []
            while (batch := threaded.next_batch()) is not None:
                batches.append(batch[0].numpy())
            threaded.close()  # stops the loader without joining the parent's threads
            return batches

        rest = in_forked_child(rest_of_epoch)
        assert len(rest) == len(expected) - 1
        assert all(np.array_equal(a, b) for a, b in zip(rest, expected[1:]))
        # The parent's loader is untouched by its children.
        assert len([batch for batch in threaded]) == len(expected) - 1
