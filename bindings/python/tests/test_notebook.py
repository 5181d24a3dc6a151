"""examples/python/brain_segmentation.ipynb runs from top to bottom without an error."""

from __future__ import annotations

import os
import re

import pytest

import unetseg

from conftest import REPO

nbformat = pytest.importorskip("nbformat", reason="nbformat is needed to run the notebook (make setup)")
nbclient = pytest.importorskip("nbclient", reason="nbclient is needed to run the notebook (make setup)")
pytest.importorskip("matplotlib", reason="matplotlib is needed by the notebook (make setup)")
pytest.importorskip("ipykernel", reason="ipykernel is needed to run the notebook (make setup)")

NOTEBOOK = REPO / "examples" / "python" / "brain_segmentation.ipynb"


def test_notebook_is_committed_without_outputs():
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    code = [cell for cell in notebook.cells if cell.cell_type == "code"]
    assert code and all(not cell.outputs and cell.execution_count is None for cell in code)


def test_notebook_executes_without_error(tmp_path, monkeypatch):
    package_root = os.path.dirname(os.path.dirname(unetseg.__file__))
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(filter(None, [package_root, os.environ.get("PYTHONPATH")])))
    monkeypatch.setenv("UNETSEG_LIB", unetseg.library_path)
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    client = nbclient.NotebookClient(notebook, timeout=600, kernel_name="python3",
                                     resources={"metadata": {"path": str(tmp_path)}})
    client.execute()  # raises CellExecutionError, with the cell and its traceback, on any error
    nbformat.write(notebook, tmp_path / "executed.ipynb")

    text = "\n".join(output.get("text", "") for cell in notebook.cells if cell.cell_type == "code"
                     for output in cell.outputs if output.get("output_type") == "stream")
    assert re.search(r"Epoch 1, training: loss:\d", text)
    assert re.search(r"Epoch 12, validation: loss:\d", text)
    dice = re.search(r"mean volume Dice (\d\.\d+)", text)
    assert dice is not None and 0.0 <= float(dice.group(1)) <= 1.0
    figures = sum(1 for cell in notebook.cells if cell.cell_type == "code" for output in cell.outputs
                  if "image/png" in output.get("data", {}))
    assert figures >= 4
