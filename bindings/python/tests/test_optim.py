"""SGD and OneCycleLR, and the post's training loop written by hand in Python."""

from __future__ import annotations

import math

import numpy as np
import pytest

import unetseg
from unetseg import SGD, OneCycleLR, UNet

from conftest import TINY, make_batch


def states_equal(a, b):
    return all(np.array_equal(a[k], b[k]) for k in a)


# ---- SGD -------------------------------------------------------------------------------------------------


def test_sgd_descends_on_a_fixed_batch(tiny_model, batch):
    images, masks = batch
    tiny_model.eval()
    optimizer = SGD(tiny_model.parameters(), lr=0.05, momentum=0.0)
    losses = []
    for _ in range(10):
        optimizer.zero_grad()
        loss = unetseg.binary_cross_entropy(tiny_model(images), masks)
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    assert losses[-1] < losses[0]


def test_sgd_moves_only_parameters_with_gradients(tiny_model, batch):
    images, masks = batch
    optimizer = SGD(tiny_model, lr=0.0)
    before = tiny_model.state_dict()
    unetseg.dice_loss(tiny_model(images), masks).backward()
    optimizer.step()
    assert states_equal(before, tiny_model.state_dict())  # lr 0

    optimizer = SGD(tiny_model, lr=0.1, momentum=0.9)
    optimizer.zero_grad()
    unetseg.dice_loss(tiny_model(images), masks).backward()
    optimizer.step()
    moved = tiny_model.state_dict()
    assert not states_equal(before, moved)
    optimizer.zero_grad()
    optimizer.step()  # no gradients: nothing moves, momentum or not (torch skips them)
    assert states_equal(moved, tiny_model.state_dict())
    tiny_model.zero_grad()


def test_sgd_argument_errors(tiny_model):
    with pytest.raises(unetseg.InvalidArgument, match="all of a model's parameters"):
        SGD(tiny_model.parameters()[:3])
    with UNet(**TINY) as other:
        with pytest.raises(unetseg.InvalidArgument, match="parameters of 2 models"):
            SGD(tiny_model.parameters() + other.parameters())
    with pytest.raises(unetseg.InvalidArgument, match="SGD takes a UNet"):
        SGD([np.zeros(3)])
    with pytest.raises(unetseg.InvalidArgument, match="lr|learning rate"):
        SGD(tiny_model, lr=-1.0)
    with pytest.raises(unetseg.InvalidArgument, match="[Nn]esterov"):
        SGD(tiny_model, momentum=0.0, nesterov=True)


def test_optimizer_outlives_its_model(batch):
    model = UNet(seed=3, **TINY)
    optimizer = SGD(model)
    model.close()
    optimizer.zero_grad()
    optimizer.step()
    optimizer.close()


# ---- OneCycleLR ------------------------------------------------------------------------------------------


def test_one_cycle_follows_torchs_schedule(tiny_model):
    optimizer = SGD(tiny_model)
    scheduler = OneCycleLR(optimizer, max_lr=0.1, epochs=2, steps_per_epoch=5)
    assert scheduler.optimizer is optimizer
    assert scheduler.lr == pytest.approx(0.1 / 25) and scheduler.momentum == pytest.approx(0.95)
    lrs = [scheduler.get_last_lr()[0]]
    for _ in range(10):
        scheduler.step()
        lrs.append(scheduler.lr)
    # 10 steps, warm-up to step 0.3 * 10 - 1 = 2, cosine down to max_lr / 25 / 1e4 at step 9.
    assert lrs[2] == pytest.approx(0.1)
    assert lrs[1] == pytest.approx(0.004 + (0.1 - 0.004) * (1 - math.cos(math.pi / 2)) / 2)
    assert lrs[9] == pytest.approx(0.1 / 25 / 1e4)
    assert lrs[:3] == sorted(lrs[:3]) and lrs[2:10] == sorted(lrs[2:10], reverse=True)
    with pytest.raises(unetseg.InvalidArgument, match="Tried to step 11 times"):
        scheduler.step()


def test_one_cycle_momentum_and_options(tiny_model):
    scheduler = OneCycleLR(SGD(tiny_model), max_lr=1.0, epochs=1, steps_per_epoch=10, pct_start=0.5,
                           div_factor=10, base_momentum=0.8, max_momentum=0.9)
    assert scheduler.lr == pytest.approx(0.1) and scheduler.momentum == pytest.approx(0.9)
    for _ in range(4):
        scheduler.step()
    assert scheduler.lr == pytest.approx(1.0) and scheduler.momentum == pytest.approx(0.8)


def test_one_cycle_errors(tiny_model):
    optimizer = SGD(tiny_model)
    with pytest.raises(unetseg.InvalidArgument, match="steps"):
        OneCycleLR(optimizer)  # steps_per_epoch has no usable default
    with pytest.raises(unetseg.InvalidArgument, match="pct_start|pct"):
        OneCycleLR(optimizer, steps_per_epoch=3, pct_start=1.5)
    with pytest.raises(unetseg.InvalidArgument, match="momenta must be finite"):
        OneCycleLR(optimizer, steps_per_epoch=3, base_momentum=-1)
    with pytest.raises(unetseg.InvalidArgument, match="drives an SGD optimiser, got UNet"):
        OneCycleLR(tiny_model, steps_per_epoch=3)


# ---- the post's loop -------------------------------------------------------------------------------------


def run_post_loop(loss_fn, epochs=2, batches=3):
    """The post's train_batch over fixed batches; returns [(bce, dice, loss)] per batch."""
    unetseg.manual_seed(7)  # initial weights and dropout come from the global generator
    model = UNet(**TINY)
    optimizer = SGD(model.parameters(), lr=0.1, momentum=0.9)
    scheduler = OneCycleLR(optimizer, max_lr=0.1, steps_per_epoch=batches, epochs=epochs)
    data = [make_batch(10 + i, n=4, size=8) for i in range(batches)]
    history = []
    for _ in range(epochs):
        model.train()
        for images, masks in data:
            optimizer.zero_grad()
            output = model(images)
            bce_loss, dice_loss, loss = loss_fn(output, masks)
            loss.backward()
            optimizer.step()
            scheduler.step()
            history.append((bce_loss.item(), dice_loss.item(), loss.item()))
    return history


def by_hand(output, target):
    dice_weight = 0.3
    bce_loss = unetseg.binary_cross_entropy(output, target)
    dice_loss = unetseg.dice_loss(output, target)
    loss = dice_weight * dice_loss + (1 - dice_weight) * bce_loss
    return bce_loss, dice_loss, loss


def in_one_call(output, target):
    total, bce, dice = unetseg.combined_loss(output, target, 0.3)
    return bce, dice, total


def test_hand_written_loop_matches_the_combined_loss():
    manual, combined = run_post_loop(by_hand), run_post_loop(in_one_call)
    assert len(manual) == 6
    for (b1, d1, l1), (b2, d2, l2) in zip(manual, combined):
        assert b1 == pytest.approx(b2, rel=1e-5) and d1 == pytest.approx(d2, rel=1e-5)
        assert l1 == pytest.approx(l2, rel=1e-5)
    assert manual == run_post_loop(by_hand)  # the same seed gives the same run, bit for bit
