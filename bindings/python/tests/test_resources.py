"""No leaks (handles and RSS stay flat over 1,000 objects) and predictions from several threads at once."""

from __future__ import annotations

import gc
import sys
import threading

import numpy as np
import pytest

import unetseg
from unetseg import UNet

from conftest import TINY, make_batch, rss_bytes

# RSS may grow a little from allocator caching; a leak of 1,000 objects would be far larger (a tiny model
# holds ~7 KB of weights plus its Swift objects; a 64×64 tensor 16 KB).
RSS_SLACK = 8 * 1024 * 1024


def churn_tensors(count: int) -> None:
    image = np.ones((64, 64), dtype=np.float32)
    for i in range(count):
        t = unetseg.tensor(image)
        u = (t * 2 + 1).sum()
        if i % 2:
            t.close()
            u.close()
        # else: released by garbage collection when the names are rebound


def churn_models(count: int, batch) -> None:
    for i in range(count):
        model = UNet(seed=i, **TINY)
        if i % 10 == 0:
            model.predict(batch[0])
        if i % 2:
            model.close()


@pytest.mark.parametrize("kind", ["tensors", "models"])
def test_creating_and_freeing_1000_objects_leaves_rss_flat(kind, batch):
    churn = (lambda n: churn_tensors(n)) if kind == "tensors" else (lambda n: churn_models(n, batch))
    handles = unetseg.live_handle_count()
    churn(200)  # warm up allocator pools and caches
    gc.collect()
    before = rss_bytes()
    churn(1000)
    gc.collect()
    after = rss_bytes()
    assert unetseg.live_handle_count() == handles
    assert after - before < RSS_SLACK, f"RSS grew by {(after - before) / 2**20:.1f} MiB over 1,000 {kind}"


def test_an_unreferenced_training_graph_is_freed(tiny_model, batch):
    handles = unetseg.live_handle_count()
    for _ in range(20):
        total, bce, dice = unetseg.combined_loss(tiny_model(batch[0]), batch[1])
        del total, bce, dice
    assert unetseg.live_handle_count() == handles


# ---- threads ---------------------------------------------------------------------------------------------


def run_in_threads(functions):
    """Runs each function in its own thread, all released at once; returns their results in order."""
    results = [None] * len(functions)
    errors = []
    start = threading.Barrier(len(functions))

    def worker(index, function):
        try:
            start.wait()
            results[index] = function()
        except BaseException as error:  # noqa: BLE001 - reported to the test below
            errors.append(error)

    threads = [threading.Thread(target=worker, args=(i, f)) for i, f in enumerate(functions)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors, errors
    return results


def test_two_threads_predict_at_once_with_their_own_models():
    images = [make_batch(20 + i, n=8, size=32)[0] for i in range(2)]
    with UNet(seed=1, depth=3, n_filters=3) as a, UNet(seed=2, depth=3, n_filters=3) as b:
        serial = [a.predict(images[0]), b.predict(images[1])]
        for _ in range(3):
            parallel = run_in_threads([lambda: a.predict(images[0]), lambda: b.predict(images[1])])
            np.testing.assert_array_equal(parallel[0], serial[0])
            np.testing.assert_array_equal(parallel[1], serial[1])


def test_two_threads_share_one_model():
    images = [make_batch(30 + i, n=4, size=16)[0] for i in range(2)]
    with UNet(seed=1, depth=3, n_filters=3) as model:
        serial = [model.predict(x) for x in images]
        parallel = run_in_threads([lambda: model.predict(images[0]), lambda: model.predict(images[1]),
                                   lambda: model.train().training, lambda: model.state_dict()])
        np.testing.assert_array_equal(parallel[0], serial[0])
        np.testing.assert_array_equal(parallel[1], serial[1])
        assert model.training


def test_the_gil_is_released_during_library_calls():
    # A pure-Python counter thread can only advance while predict runs if predict released the GIL.
    # Its count is compared with how often the GIL could have been handed over at all.
    images = make_batch(40, n=8, size=64)[0]
    stop = threading.Event()
    count = [0]

    def counter():
        while not stop.is_set():
            count[0] += 1

    with UNet(seed=1, depth=3, n_filters=4) as model:
        model.predict(images[:1])
        old_interval = sys.getswitchinterval()
        sys.setswitchinterval(1.0)  # while holding the GIL, Python would not hand it over for 1 s
        thread = threading.Thread(target=counter)
        try:
            thread.start()
            before = count[0]
            model.predict(images)
            during = count[0] - before
        finally:
            stop.set()
            thread.join()
            sys.setswitchinterval(old_interval)
    assert during > 0
