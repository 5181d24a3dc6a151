"""Tensor: numpy in and out, shape, operators on both sides, reductions, autograd, errors, lifetime."""

from __future__ import annotations

import operator

import numpy as np
import pytest

import unetseg
from unetseg import Tensor


# ---- creation, shape and data ----------------------------------------------------------------------------


def test_from_numpy_and_back_converts_to_float32_c_order():
    source = np.arange(24, dtype=np.float64).reshape(2, 3, 4).transpose(0, 2, 1)  # not C-contiguous
    t = unetseg.from_numpy(source)
    assert t.shape == (2, 4, 3) and t.ndim == 3 and t.dim() == 3 and t.numel() == 24 and len(t) == 2
    assert t.size() == (2, 4, 3) and t.size(1) == 4 and t.dtype == np.float32
    out = t.numpy()
    assert out.dtype == np.float32 and out.flags.c_contiguous
    np.testing.assert_array_equal(out, source.astype(np.float32))
    np.testing.assert_array_equal(np.asarray(t), out)
    assert np.asarray(t, dtype=np.float64).dtype == np.float64


def test_tensor_keeps_its_own_copy():
    source = np.ones(3, dtype=np.float32)
    t = unetseg.tensor(source)
    source[:] = 5
    np.testing.assert_array_equal(t.numpy(), [1, 1, 1])
    out = t.numpy()
    out[:] = 7
    np.testing.assert_array_equal(t.numpy(), [1, 1, 1])


def test_np_array_without_copy_is_refused():
    with pytest.raises(ValueError, match="needs a copy"):
        unetseg.tensor([1.0]).__array__(copy=False)


def test_scalar_tensor_item_float_bool_tolist():
    t = unetseg.tensor(2.5)
    assert t.shape == () and t.ndim == 0 and t.numel() == 1
    assert t.item() == 2.5 and float(t) == 2.5 and bool(t) and t.tolist() == 2.5
    assert not bool(unetseg.tensor(0.0))
    with pytest.raises(TypeError, match="0-d tensor"):
        len(t)
    assert unetseg.tensor([[1, 2], [3, 4]]).tolist() == [[1.0, 2.0], [3.0, 4.0]]


def test_zeros_accepts_sizes_or_a_tuple():
    assert unetseg.zeros(2, 3).shape == (2, 3)
    assert unetseg.zeros((4,)).shape == (4,)
    np.testing.assert_array_equal(unetseg.zeros([2, 2]).numpy(), np.zeros((2, 2)))
    assert unetseg.zeros(3, requires_grad=True).requires_grad


def test_view_and_reshape():
    t = unetseg.tensor(np.arange(6))
    assert t.view(-1).shape == (6,)
    assert t.view(2, 3).shape == (2, 3)
    assert t.view((3, -1)).shape == (3, 2)
    assert t.reshape(1, 6).shape == (1, 6)
    np.testing.assert_array_equal(t.view(3, 2).numpy(), np.arange(6).reshape(3, 2))


def test_repr_shows_values_and_requires_grad():
    t = unetseg.tensor([1.0, 2.0], requires_grad=True)
    assert repr(t) == "tensor([1., 2.], requires_grad=True)"
    t.close()
    assert repr(t) == "Tensor(<closed>)"


# ---- operators -------------------------------------------------------------------------------------------

A = np.array([[1.0, -2.0], [3.5, 4.0]], dtype=np.float32)
B = np.array([[2.0, 0.5], [-1.0, 8.0]], dtype=np.float32)
OPS = [operator.add, operator.sub, operator.mul, operator.truediv]


@pytest.mark.parametrize("op", OPS, ids=lambda op: op.__name__)
def test_tensor_op_tensor(op):
    np.testing.assert_allclose(op(unetseg.tensor(A), unetseg.tensor(B)).numpy(), op(A, B), rtol=1e-6)


@pytest.mark.parametrize("op", OPS, ids=lambda op: op.__name__)
@pytest.mark.parametrize("scalar", [3, 0.25, np.float32(2.0), np.float64(-1.5)], ids=repr)
def test_scalars_on_either_side(op, scalar):
    t = unetseg.tensor(A)
    np.testing.assert_allclose(op(t, scalar).numpy(), op(A, np.float32(scalar)), rtol=1e-6)
    np.testing.assert_allclose(op(scalar, t).numpy(), op(np.float32(scalar), A), rtol=1e-6)


@pytest.mark.parametrize("op", OPS, ids=lambda op: op.__name__)
def test_numpy_arrays_on_either_side(op):
    t = unetseg.tensor(A)
    right, left = op(t, B), op(B, t)
    assert isinstance(right, Tensor) and isinstance(left, Tensor)
    np.testing.assert_allclose(right.numpy(), op(A, B), rtol=1e-6)
    np.testing.assert_allclose(left.numpy(), op(B, A), rtol=1e-6)


def test_negation_and_greater_than():
    t = unetseg.tensor(A)
    np.testing.assert_array_equal((-t).numpy(), -A)
    np.testing.assert_array_equal((t > 2).numpy(), (A > 2).astype(np.float32))


def test_unsupported_operands_raise_type_error():
    t = unetseg.tensor(A)
    with pytest.raises(TypeError):
        t + "text"
    with pytest.raises(TypeError):
        t > unetseg.tensor(B)


def test_reductions_and_sigmoid():
    t = unetseg.tensor(A)
    assert t.sum().shape == () and t.sum().item() == pytest.approx(A.sum())
    assert t.mean().item() == pytest.approx(A.mean())
    np.testing.assert_allclose(unetseg.sigmoid(t).numpy(), 1 / (1 + np.exp(-A)), rtol=1e-6)


def test_op_errors_carry_the_library_message():
    with pytest.raises(unetseg.InvalidArgument, match=r"shapes \[2, 2\] and \[3\] differ"):
        unetseg.tensor(A) + unetseg.zeros(3)
    with pytest.raises(unetseg.InvalidArgument, match=r"cannot view \[2, 2\] \(4 elements\) as \[3\]"):
        unetseg.tensor(A).view(3)
    with pytest.raises(unetseg.InvalidArgument, match="more than one element|one-element|elements"):
        unetseg.tensor(A).item()
    with pytest.raises(unetseg.InvalidArgument, match="ndim must be in 0...8, got 9"):
        unetseg.zeros(*([1] * 9))
    with pytest.raises(unetseg.InvalidArgument, match="sizes must be > 0"):
        unetseg.zeros(2, -3)


# ---- autograd --------------------------------------------------------------------------------------------


def test_backward_fills_grad_of_leaves():
    a = unetseg.tensor(A, requires_grad=True)
    b = unetseg.tensor(B)
    assert a.requires_grad and not b.requires_grad and a.grad is None
    loss = (a * b + 2 * a).sum()
    assert loss.requires_grad
    loss.backward()
    np.testing.assert_allclose(a.grad.numpy(), B + 2)
    assert b.grad is None
    (a.mean()).backward()  # gradients accumulate, as torch
    np.testing.assert_allclose(a.grad.numpy(), B + 2 + 0.25)
    a.grad = None
    assert a.grad is None


def test_requires_grad_setter_and_in_place_form():
    t = unetseg.zeros(2)
    assert t.requires_grad_() is t and t.requires_grad
    t.requires_grad = False
    assert not t.requires_grad


def test_autograd_errors():
    a = unetseg.tensor(A, requires_grad=True)
    with pytest.raises(unetseg.InvalidArgument, match="element"):
        (a * 2).backward()  # not one element
    with pytest.raises(unetseg.InvalidArgument, match="require"):
        unetseg.tensor(A).sum().backward()  # nothing requires grad
    with pytest.raises(unetseg.InvalidArgument, match="leaf"):
        (a * 2).requires_grad = False
    with pytest.raises(unetseg.InvalidArgument, match="only None"):
        a.grad = unetseg.zeros(2, 2)


# ---- lifetime --------------------------------------------------------------------------------------------


def test_close_with_and_garbage_collection_free_handles():
    before = unetseg.live_handle_count()
    t = unetseg.zeros(4)
    with unetseg.zeros(4) as u:
        assert unetseg.live_handle_count() == before + 2
    assert u.closed and unetseg.live_handle_count() == before + 1
    del t
    assert unetseg.live_handle_count() == before


def test_closed_tensor_raises_and_close_twice_is_safe():
    t = unetseg.zeros(2)
    t.close()
    t.close()
    assert t.closed
    with pytest.raises(unetseg.InvalidArgument, match="this Tensor was closed"):
        t.numpy()
    with pytest.raises(unetseg.InvalidArgument, match="this Tensor was closed"):
        t + 1


def test_results_outlive_their_inputs():
    a = unetseg.tensor(A, requires_grad=True)
    loss = (a * 3).sum()
    grad_view = a.view(-1)
    a.close()
    loss.backward()  # the graph inside the library keeps a alive
    np.testing.assert_array_equal(grad_view.numpy(), A.reshape(-1))


def test_indexing_follows_torch_and_numpy():
    a = np.arange(2 * 3 * 4 * 5, dtype=np.float32).reshape(2, 3, 4, 5)
    x = unetseg.Tensor(a, requires_grad=True)
    for key in [1, -1, (1, 2), (slice(None), 1), (slice(None), slice(1, 2)), (Ellipsis, 0), (0, Ellipsis, 1),
                (None, 1), [1, 0], (slice(None), [2, 0], 1), np.array([True, False]), (slice(None, None, 2),)]:
        got = x[key]
        assert isinstance(got, unetseg.Tensor)
        assert got.shape == a[key].shape, key
        np.testing.assert_array_equal(got.numpy(), a[key])
        assert not got.requires_grad
    element = x[1, 2, 3, 4]
    assert element.shape == () and element.item() == a[1, 2, 3, 4]
    assert x[0:1].shape == (1, 3, 4, 5)  # a slice keeps the dimension


def test_bad_indices_raise_index_and_type_errors():
    x = unetseg.Tensor(np.zeros((2, 3), dtype=np.float32))
    with pytest.raises(IndexError):
        x[2]
    with pytest.raises(IndexError):
        x[0, 0, 0]
    with pytest.raises(IndexError):
        x[np.array([True])]
    with pytest.raises(TypeError, match="for a tensor index use its .numpy()"):
        x[unetseg.Tensor(np.zeros(1, dtype=np.float32))]
    with pytest.raises(IndexError):
        x["a"]
