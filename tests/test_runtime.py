"""cnnkit.setup(): the one line it prints follows the notebook's language."""
import warnings

import pytest

keras = pytest.importorskip("keras")

import cnnkit  # noqa: E402


@pytest.mark.parametrize("lang, line", [
    ("es", "cnnkit · perfil=smoke · backend={backend} · semilla=3"),
    ("en", "cnnkit · profile=smoke · backend={backend} · seed=3"),
])
def test_setup_line_is_in_the_notebooks_language(lang, line, monkeypatch, capsys):
    monkeypatch.setenv("CNNKIT_LANG", lang)
    monkeypatch.setenv("CNNKIT_PROFILE", "smoke")
    # setup() routes warnings to stdout for the whole process: give the next tests theirs back.
    # keras2_compat=False: installing the Keras-2 shims would leak into other tests of this process too.
    monkeypatch.setattr(warnings, "showwarning", warnings.showwarning)
    active = cnnkit.setup(seed=3, keras2_compat=False)
    assert active.name == "smoke"
    assert capsys.readouterr().out.strip() == line.format(backend=keras.backend.backend())
