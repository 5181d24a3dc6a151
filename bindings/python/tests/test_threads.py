"""Threads sharing one object: the library serialises the calls on a handle, so threads hammering one
Tensor, dataset, DataLoader, SGD, OneCycleLR or UNet get what a serial run gets, without a crash, a
deadlock or a leaked handle."""

from __future__ import annotations

import gc
import threading
from typing import Any, Callable, List

import numpy as np
import pytest

import unetseg

from conftest import TINY, make_batch

THREADS = 4

#: A generous bound on a hammering run, so that a deadlock fails the test instead of blocking CI.
JOIN_SECONDS = 300


def run_together(work: Callable[[int], Any], threads: int = THREADS) -> List[Any]:
    """``work(i)`` on ``threads`` threads started at once; returns their results in order and re-raises the
    first exception. Fails when a thread is still running after :data:`JOIN_SECONDS` (a deadlock)."""
    start = threading.Barrier(threads)
    results: List[Any] = [None] * threads
    errors: List[BaseException] = []

    def body(i: int) -> None:
        start.wait()
        try:
            results[i] = work(i)
        except BaseException as error:  # noqa: BLE001 - re-raised on the main thread
            errors.append(error)

    workers = [threading.Thread(target=body, args=(i,), daemon=True) for i in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(JOIN_SECONDS)
    assert not any(worker.is_alive() for worker in workers), "threads still running: deadlock?"
    if errors:
        raise errors[0]
    return results


@pytest.fixture(scope="module")
def dataset_root(tmp_path_factory):
    """2 synthetic patients of 8 slices of 32×32."""
    root = tmp_path_factory.mktemp("threads") / "kaggle_3m"
    unetseg.synthesize(root, patients=2, min_slices=8, max_slices=8, size=32, seed=5, progress=False)
    return root


def test_tensor_shared_by_threads():
    gc.collect()
    before = unetseg.live_handle_count()
    values = np.arange(12, dtype=np.float32).reshape(3, 4)
    shared = unetseg.tensor(values)
    expected = float(((values * 2 + values) / 4).sum())

    def work(i: int) -> List[float]:
        results = []
        for round in range(100):
            with (shared * 2.0) as doubled, (doubled + shared) as tripled, (tripled / 4.0) as quarter, \
                    quarter.sum() as total:
                results.append(total.item())
            assert np.array_equal(shared.numpy(), values)
            shared.requires_grad = (i + round) % 2 == 0
        return results

    for results in run_together(work):
        assert results == [expected] * 100
    shared.close()
    gc.collect()
    assert unetseg.live_handle_count() == before


def test_dataset_shared_by_threads(dataset_root):
    with unetseg.BrainSegDataset(dataset_root, augmentation=(0.05, 15, 0.5), random_sampling=True) as dataset:
        def items() -> List[np.ndarray]:
            out = []
            for index in range(len(dataset)):
                image, mask = dataset.get_item(index, epoch=3)
                with image, mask:
                    out.append(np.concatenate([image.numpy().ravel(), mask.numpy().ravel()]))
            return out

        expected = items()
        for result in run_together(lambda _: items()):
            assert all(np.array_equal(a, b) for a, b in zip(result, expected))


@pytest.mark.parametrize("workers", [0, 2])
def test_loader_shared_by_threads(dataset_root, workers):
    with unetseg.BrainSegDataset(dataset_root) as dataset, \
            unetseg.DataLoader(dataset, batch_size=2, shuffle=True, workers=workers) as shared, \
            unetseg.DataLoader(dataset, batch_size=2, shuffle=True) as serial:
        batches = len(shared)
        assert batches % THREADS == 0

        def read(count: int, loader: unetseg.DataLoader) -> List[bytes]:
            out = []
            for _ in range(count):
                batch = loader.next_batch()
                assert batch is not None
                images, masks = batch
                with images, masks:
                    out.append(images.numpy().tobytes() + masks.numpy().tobytes())
            return out

        expected = read(batches, serial)
        concurrent = [b for part in run_together(lambda _: read(batches // THREADS, shared)) for b in part]
        # Every batch of epoch 1 exactly once, whichever thread read it; then the end of the epoch.
        assert sorted(concurrent) == sorted(expected)
        assert shared.next_batch() is None and shared.epoch == 2


def _stepped_model(seed: int) -> unetseg.UNet:
    """A tiny model in evaluation mode with the gradients of one loss."""
    model = unetseg.UNet(seed=seed, **TINY).eval()
    images, masks = make_batch(3)
    with model(images) as prediction, unetseg.binary_cross_entropy(prediction, masks) as loss:
        loss.backward()
    return model


def test_sgd_and_one_cycle_shared_by_threads():
    steps = 50
    with _stepped_model(2) as model, _stepped_model(2) as twin:
        shared = unetseg.SGD(model, lr=0.01)
        schedule = unetseg.OneCycleLR(shared, max_lr=0.01, epochs=1, steps_per_epoch=THREADS * steps)
        serial = unetseg.SGD(twin, lr=0.01)
        serial_schedule = unetseg.OneCycleLR(serial, max_lr=0.01, epochs=1, steps_per_epoch=THREADS * steps)

        # Steps at one learning rate give the same parameters in any order; then the schedule's steps.
        run_together(lambda _: [shared.step() for _ in range(steps)])
        for _ in range(THREADS * steps):
            serial.step()
        for (name, a), (_, b) in zip(model.state_dict().items(), twin.state_dict().items()):
            assert np.array_equal(a, b), name
        run_together(lambda _: [schedule.step() for _ in range(steps)])
        for _ in range(THREADS * steps):
            serial_schedule.step()
        assert schedule.lr == serial_schedule.lr and schedule.momentum == serial_schedule.momentum
        with pytest.raises(unetseg.InvalidArgument, match="Tried to step"):
            schedule.step()
        for closing in (schedule, shared, serial_schedule, serial):
            closing.close()


def test_model_shared_by_threads():
    images, _ = make_batch(4, n=2, size=16)
    with unetseg.UNet(seed=3, **TINY) as model:
        model.eval()
        expected = model.predict(images)

        def work(i: int) -> np.ndarray:
            if i % 2:
                with model(images) as out:
                    return out.numpy()
            return model.predict(images)

        for result in run_together(work):
            assert np.array_equal(result, expected)


def test_close_from_many_threads_frees_once(log_messages):
    gc.collect()
    before = unetseg.live_handle_count()
    tensors = [unetseg.zeros(2) for _ in range(200)]
    run_together(lambda _: [t.close() for t in tensors])
    assert unetseg.live_handle_count() == before
    assert not any("ignoring handle" in message for _, message in log_messages)


@pytest.mark.parametrize("other_call", ["sgd.zero_grad", "model.train", "schedule.lr"])
def test_a_call_waits_for_another_threads_call_on_the_same_model(dataset_root, other_call):
    """While ``evaluate`` runs on the model (inside its progress callback), another thread's call on the
    model, on an SGD over it or on the schedule driving that SGD returns only after ``evaluate`` has."""
    with unetseg.UNet(seed=4, **TINY) as model:
        sgd = unetseg.SGD(model)
        schedule = unetseg.OneCycleLR(sgd, epochs=1, steps_per_epoch=2)
        calls = {"sgd.zero_grad": sgd.zero_grad, "model.train": model.train, "schedule.lr": lambda: schedule.lr}
        in_callback, other_returned = threading.Event(), threading.Event()
        returned_during_evaluation = []

        def progress(done: int, total: int) -> None:
            if not in_callback.is_set():
                in_callback.set()
                # Enough time for a call that does not wait to return; one that waits returns after us.
                returned_during_evaluation.append(other_returned.wait(1.0))

        def other() -> None:
            in_callback.wait(JOIN_SECONDS)
            calls[other_call]()
            other_returned.set()

        thread = threading.Thread(target=other, daemon=True)
        thread.start()
        unetseg.evaluate(model, dataset_root, progress=progress)
        thread.join(JOIN_SECONDS)
        assert other_returned.is_set()
        assert returned_during_evaluation == [False]
        schedule.close()
        sgd.close()
