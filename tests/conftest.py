"""Shared test settings: offline, quiet, deterministic, single-threaded math.

Environment variables are set before any test imports Keras/TensorFlow.
"""
import os

os.environ.setdefault("CNNKIT_OFFLINE", "1")          # loaders never try to download
os.environ.setdefault("CNNKIT_PROFILE", "smoke")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")
os.environ.setdefault("PYTHONHASHSEED", "0")
os.environ.setdefault("MPLBACKEND", "Agg")

import pytest  # noqa: E402


@pytest.fixture
def seeded():
    """Seed Python, NumPy and Keras for a test that trains something."""
    import keras

    keras.utils.set_random_seed(0)
    return 0


@pytest.fixture
def english(monkeypatch):
    """What cnnkit prints and draws in English (``$CNNKIT_LANG=en``), for tests that read its text."""
    monkeypatch.setenv("CNNKIT_LANG", "en")
    return "en"


@pytest.fixture
def spanish(monkeypatch):
    """What cnnkit prints and draws in Spanish, the notebooks' language, whatever the shell sets."""
    monkeypatch.setenv("CNNKIT_LANG", "es")
    return "es"


@pytest.fixture(autouse=True)
def _working_directory_survives():
    """Fail the test after which the process's working directory no longer exists (code it drove
    chdir'ed into a folder that was then deleted): every later subprocess would inherit it."""
    yield
    try:
        os.getcwd()
    except FileNotFoundError:
        os.chdir(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
        pytest.fail("the working directory was deleted under this test")
