"""Memory limits per call: a call that would not fit returns OutOfMemory up front, with the estimate and the
limit, instead of getting the process killed; under ``ulimit -v`` an allocation that fails is an error, not a
crash. Each case runs in a child interpreter, so that its environment or address-space limit stays there."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import unetseg

from conftest import subprocess_env

PACKAGE_PARENT = Path(unetseg.__file__).resolve().parent.parent

PRELUDE = """
import resource, sys
import numpy as np
import unetseg
from unetseg.errors import OutOfMemory

def address_space_in_use():
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[0]) * resource.getpagesize()

def limit_address_space(extra):
    limit = address_space_in_use() + extra
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))

def expect_out_of_memory(call, *words):
    try:
        call()
    except OutOfMemory as error:
        message = str(error)
        missing = [word for word in words if word not in message]
        print("OUT_OF_MEMORY" if not missing else f"MESSAGE LACKS {missing}: {message}")
    else:
        print("NO ERROR")
"""


def run_child(code: str, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", PRELUDE + textwrap.dedent(code)], capture_output=True, text=True,
                          timeout=300, env=subprocess_env(PYTHONPATH=str(PACKAGE_PARENT), **env))


def assert_out_of_memory(result: subprocess.CompletedProcess) -> None:
    assert result.returncode == 0, f"the child died (status {result.returncode}): {result.stderr[-2000:]}"
    assert result.stdout.strip().splitlines()[-1] == "OUT_OF_MEMORY", result.stdout + result.stderr[-2000:]


def test_predict_folder_checks_the_whole_call_against_the_limit(tmp_path):
    # The post's model on 1024×1024 slices needs far more than 256 MiB of activations; predict_folder used to
    # skip the size check and run (an 8192×8192 slice would take the host down).
    result = run_child(f"""
        root = {str(tmp_path / "data")!r}
        unetseg.synthesize(root, patients=1, min_slices=8, max_slices=8, size=1024, seed=1, progress=False)
        model = unetseg.UNet(seed=1)
        expect_out_of_memory(lambda: unetseg.predict(model, root, {str(tmp_path / "out")!r}, progress=False),
                             "forward pass", "MiB", "limit", "UNETSEG_MEMORY_LIMIT=256M")
    """, UNETSEG_MEMORY_LIMIT="256M")
    assert_out_of_memory(result)


def test_a_loader_whose_batches_in_flight_exceed_the_limit_is_refused(tmp_path):
    # 4096 items of 4×256×256 floats per batch, 4·64 + 1 batches in flight: about 1 TiB.
    result = run_child(f"""
        root = {str(tmp_path / "data")!r}
        unetseg.synthesize(root, patients=1, min_slices=8, max_slices=8, size=256, seed=1, progress=False)
        dataset = unetseg.BrainSegDataset(root)
        expect_out_of_memory(lambda: unetseg.DataLoader(dataset, batch_size=4096, workers=64),
                             "data loader", "estimated", "limit")
    """)
    assert_out_of_memory(result)


def test_a_forward_pass_under_ulimit_v_is_an_error_not_a_crash():
    # 256 MiB of address space left; a tiny model on 4 images of 1024×1024 needs about 512 MiB. The
    # allocation used to fail inside an op and trap.
    result = run_child("""
        model = unetseg.UNet(seed=1, depth=2, n_filters=2)
        images = np.zeros((4, 3, 1024, 1024), dtype=np.float32)
        limit_address_space(256 << 20)
        expect_out_of_memory(lambda: model.predict(images), "ulimit -v")
    """)
    assert_out_of_memory(result)


def test_a_large_tensor_under_ulimit_v_is_an_error_not_a_crash():
    result = run_child("""
        limit_address_space(256 << 20)
        expect_out_of_memory(lambda: unetseg.zeros(1024, 1024, 256))
    """)
    assert_out_of_memory(result)
