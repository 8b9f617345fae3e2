"""Shared set-up: every kernel these tests start uses a scratch store, and the `reprise` binary
named by REPRISE_BIN (tests/run-all.sh builds it and installs the kernelspec into the venv)."""
import os
import tempfile

import pytest

STORE = tempfile.mkdtemp(prefix="reprise-jupyter-store-")
os.environ["REPRISE_STORE"] = STORE
BIN = os.environ.get("REPRISE_BIN", "reprise")


@pytest.fixture(scope="session")
def store():
    return STORE


@pytest.fixture(scope="session")
def reprise_bin():
    return BIN
