"""Shared set-up: every kernel these tests start uses a scratch store, and the `reprise` binary
named by REPRISE_BIN (tests/run-all.sh builds it and installs the kernelspec into the venv)."""
import os
import subprocess
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


@pytest.fixture(scope="session", autouse=True)
def prepared_store(store, reprise_bin):
    """The session's store with the science crates built into its `:dep` seed, as `reprise kernel
    install` leaves a user's (`reprise kernel prepare`): the notebooks' `:dep` cells take seconds."""
    done = subprocess.run([reprise_bin, "--store", store, "kernel", "prepare"], capture_output=True, text=True, timeout=1800)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "prepared reprise-rdd, reprise-causal, reprise-discocat, reprise-qbs in" in done.stdout, done.stdout + done.stderr[-2000:]
    return store
