"""Finding submissions in the folders instructors actually download."""
from __future__ import annotations

from pathlib import Path

import nbformat
import pytest

from autograder.submissions import NoSubmissions, discover, student_id_from

ID = "vgg19_blocks"


def notebook(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nbformat.v4.new_notebook(), str(path))
    return path


def found(*inputs) -> dict[str, str]:
    return {s.student_id: s.path.name for s in discover(list(inputs), ID)}


def test_flat_folder_and_files(tmp_path):
    notebook(tmp_path / "ana.ipynb")
    notebook(tmp_path / "García López, Ana.ipynb")
    notebook(tmp_path / ".ipynb_checkpoints" / "ana-checkpoint.ipynb")
    assert found(tmp_path) == {"ana": "ana.ipynb", "García_López_Ana": "García López, Ana.ipynb"}
    assert found(tmp_path / "ana.ipynb") == {"ana": "ana.ipynb"}


def test_nbgrader_submitted_tree(tmp_path):
    notebook(tmp_path / "ana" / ID / f"{ID}.ipynb")
    notebook(tmp_path / "bea" / ID / f"{ID}.ipynb")
    assert found(tmp_path) == {"ana": f"{ID}.ipynb", "bea": f"{ID}.ipynb"}


def test_a_tree_of_another_assignment_is_refused_with_its_id(tmp_path):
    notebook(tmp_path / "ana" / "cifar10_cnn" / "cifar10_cnn.ipynb")
    notebook(tmp_path / "bea" / "cifar10_cnn" / "cifar10_cnn.ipynb")
    with pytest.raises(NoSubmissions, match="assignment 'cifar10_cnn', not 'vgg19_blocks'"):
        discover([tmp_path], ID)


def test_one_folder_per_student(tmp_path):
    notebook(tmp_path / "ana_123" / "vgg19_blocks.ipynb")
    notebook(tmp_path / "bea_456" / "practica.ipynb")
    notebook(tmp_path / "carla_789" / "borrador.ipynb")             # two notebooks: the one named after the ID
    notebook(tmp_path / "carla_789" / "vgg19_blocks (1).ipynb")
    assert found(tmp_path) == {"ana_123": "vgg19_blocks.ipynb", "bea_456": "practica.ipynb",
                               "carla_789": "vgg19_blocks (1).ipynb"}


def test_moodle_export_folders_and_files(tmp_path):
    notebook(tmp_path / "García López, Ana_1234_assignsubmission_file_" / "practica.ipynb")
    notebook(tmp_path / "Bea Ruiz_5678_assignsubmission_file_vgg19_blocks.ipynb")     # the flat form
    assert found(tmp_path) == {"García_López_Ana_1234": "practica.ipynb",
                               "Bea_Ruiz_5678": "Bea Ruiz_5678_assignsubmission_file_vgg19_blocks.ipynb"}
    assert student_id_from(Path("Bea Ruiz_5678_assignsubmission_file_x.ipynb")) == "Bea_Ruiz_5678"


def test_canvas_export_file_names(tmp_path):
    notebook(tmp_path / "garcialopezana_12345_67890_vgg19_blocks.ipynb")
    notebook(tmp_path / "ruizbea_LATE_222_333_practica-1.ipynb")
    assert set(found(tmp_path)) == {"garcialopezana_12345", "ruizbea_222"}


def test_gradescope_submission_export(tmp_path):
    notebook(tmp_path / "submission_101" / "vgg19_blocks.ipynb")
    notebook(tmp_path / "submission_102" / "practica.ipynb")
    (tmp_path / "submission_metadata.yml").write_text(
        "submission_101:\n  :submitters:\n  - :name: Ana García\n    :sid: '123'\n    :email: ana@uni.es\n"
        "  :created_at: 2026-11-30\nsubmission_102:\n  :submitters:\n  - :name: Bea Ruiz\n    :sid: ''\n"
        "    :email: bea@uni.es\n", encoding="utf-8")
    assert found(tmp_path) == {"123": "vgg19_blocks.ipynb", "bea_uni.es": "practica.ipynb"}


def test_nothing_to_grade_is_an_error_not_an_empty_batch(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(NoSubmissions, match="no notebook"):
        discover([tmp_path / "empty"], ID)
    with pytest.raises(FileNotFoundError, match="no such submission"):
        discover([tmp_path / "missing.ipynb"], ID)
    (tmp_path / "notes.txt").write_text("x")
    with pytest.raises(NoSubmissions, match="not a notebook"):
        discover([tmp_path / "notes.txt"], ID)


def test_the_same_student_twice_never_overwrites(tmp_path):
    notebook(tmp_path / "a" / "ana.ipynb")
    notebook(tmp_path / "b" / "ana.ipynb")
    ids = [s.student_id for s in discover([tmp_path / "a", tmp_path / "b"], ID)]
    assert ids == ["ana", "ana-2"]


def test_a_student_called_like_an_output_folder_gets_another_id(tmp_path):
    notebook(tmp_path / "nbgrader.ipynb")
    assert found(tmp_path) == {"nbgrader_": "nbgrader.ipynb"}
