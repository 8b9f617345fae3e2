"""Every notebook in notebooks/ executes under nbclient with the reprise kernel, with no error output."""
import pathlib

import nbformat
import pytest
from nbclient import NotebookClient

NOTEBOOKS = sorted((pathlib.Path(__file__).resolve().parents[2] / "notebooks").glob("*.ipynb"))


def test_there_are_notebooks():
    assert NOTEBOOKS, "notebooks/ holds at least the tour"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def test_notebook_executes_without_errors(path):
    nb = nbformat.read(path, as_version=4)
    NotebookClient(nb, kernel_name="reprise", timeout=600, startup_timeout=120).execute()
    errors = [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", []) if o.output_type == "error"]
    assert not errors, errors
    kinds = {o.output_type for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])}
    assert {"execute_result", "display_data"} <= kinds, kinds
