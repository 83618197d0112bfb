"""Root-cause attribution: a failed test names the student cell whose error made it fail."""
from __future__ import annotations

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from autograder import static
from autograder.rootcause import cause_message, cell_errors, root_causes


def error(ename, evalue, line=None):
    traceback = [f"\x1b[0;31m---------\x1b[0m\n", f"Cell \x1b[0;32mIn[7], line {line}\x1b[0m\n"] if line else []
    return nbformat.v4.new_output("error", ename=ename, evalue=evalue, traceback=traceback)


def solution(source, grade_id, outputs=()):
    cell = new_code_cell(source, metadata={"nbgrader": {"solution": True, "grade": False, "grade_id": grade_id}})
    cell.outputs = list(outputs)
    return cell


def graded_test(source, grade_id, outputs=()):
    cell = new_code_cell(source, metadata={"nbgrader": {"grade": True, "solution": False, "locked": True,
                                                         "grade_id": grade_id, "points": 1}})
    cell.outputs = list(outputs)
    return cell


def notebook():
    nb = new_notebook()
    nb.cells = [
        new_markdown_cell("## 2a) El modelo (1 punto)"),
        solution("model_3x3 = keras.Sequential([...])", "model_3x3"),
        graded_test("checks.verify('arch', model_3x3)", "test_model"),
        new_markdown_cell("## 2b) Entrenamiento (0,5 puntos)\nCompila y entrena."),
        solution("opt = keras.optimizers.rmsprop(lr=0.0001)\nmodel_3x3.compile(opt)\n"
                 "history_3x3 = model_3x3.fit(x, y)",
                 "train_3x3", [error("AttributeError", "module 'keras.optimizers' has no attribute 'rmsprop'", 1)]),
        solution("seconds = 3.0", "time_3x3"),
        graded_test("checks.verify('history', history_3x3)",
             "test_train", [error("NameError", "name 'history_3x3' is not defined")]),
        new_markdown_cell("## 2c) Fórmula"),
        solution("raise NotImplementedError()", "formula", [error("NotImplementedError", "")]),
        graded_test("checks.verify('formula', n_params)", "test_formula",
             [error("NameError", "name 'n_params' is not defined")]),
        new_markdown_cell("## 2d) Curvas"),
        solution("fig = plt.figure()", "curves"),
        graded_test("checks.verify('fig', fig)", "test_curves"),
    ]
    return nb


def test_the_cell_that_defines_what_the_test_reads_is_the_cause():
    nb = notebook()
    causes = root_causes(nb, ["test_train", "test_formula", "test_model"])
    assert causes["test_train"].grade_id == "train_3x3"
    assert causes["test_train"].title == "2b) Entrenamiento (1/2)"       # points stripped, place in the section
    assert causes["test_train"].line == 1
    assert causes["test_formula"].unanswered
    assert "test_model" not in causes                # no error before it: its own checks explain it


def test_a_test_without_errors_before_it_or_that_passed_gets_no_cause():
    nb = notebook()
    assert root_causes(nb, []) == {}
    nb.cells[4].outputs = []
    nb.cells[8].outputs = []
    assert root_causes(nb, ["test_train", "test_formula"]) == {}


def test_a_name_error_is_followed_to_the_cell_that_failed_to_define_the_name():
    nb = notebook()
    nb.cells[11].source = "fig = plt.plot(history_3x3.history['loss'])"
    nb.cells[11].outputs = [error("NameError", "name 'history_3x3' is not defined")]
    assert root_causes(nb, ["test_curves"])["test_curves"].grade_id == "train_3x3"


def test_a_later_test_points_at_the_failed_cell_of_its_own_section_first():
    nb = notebook()
    # test_curves reads `fig`, defined without error; the latest earlier error is the unanswered formula.
    assert root_causes(nb, ["test_curves"])["test_curves"].grade_id == "formula"


def test_the_message_gives_the_error_in_one_line_and_the_exact_keras3_fix():
    nb = notebook()
    findings = [f.to_json() for f in static.analyze_notebook(nb)]
    cause = root_causes(nb, ["test_train"])["test_train"]
    english = cause_message(cause, findings).render("en")
    assert english.startswith("The cell «2b) Entrenamiento (1/2)» failed: "
                              "`AttributeError: module 'keras.optimizers' has no attribute 'rmsprop'` → ")
    assert "`keras.optimizers.RMSprop(learning_rate=0.0001)`" in english
    spanish = cause_message(cause, findings).render("es")
    assert spanish.startswith("La celda «2b) Entrenamiento (1/2)» falló:") and "RMSprop" in spanish
    unanswered = cause_message(root_causes(nb, ["test_formula"])["test_formula"]).render("es")
    assert unanswered == ("La celda «2c) Fórmula» está sin responder: sustituye `raise NotImplementedError()` "
                          "por tu código.")


def test_errors_the_static_analysis_cannot_see_get_a_fix_from_their_text():
    nb = notebook()
    nb.cells[5].outputs = [error("ValueError", "The filename must end in `.weights.h5`. Received: filepath=m.h5")]
    nb.cells[4].outputs = []
    cause = root_causes(nb, ["test_train"])["test_train"]
    assert cause.grade_id == "time_3x3"
    assert "save_weights(\"model.weights.h5\")" in cause_message(cause).render("en")
    nb.cells[5].outputs = [error("KeyError", "'x'")]
    assert cause_message(root_causes(nb, ["test_train"])["test_train"]).code == "cause.cell_failed_plain"


def test_a_malformed_or_hostile_notebook_only_loses_the_hint():
    nb = notebook()
    nb.cells[4].source = "def broken(:\n"                      # does not parse
    nb.cells[4].outputs = [error("SyntaxError", "invalid syntax " * 100)]
    cause = root_causes(nb, ["test_train"])["test_train"]
    assert len(cause.one_line) <= 240
    assert cell_errors({"cells": [{"cell_type": "code", "source": ["x"], "outputs": [{"output_type": "error"}]}]})


def test_a_test_that_failed_although_every_cell_ran_names_the_cell_defining_what_it_checks():
    from autograder.rootcause import cause_messages, defining_cells

    nb = notebook()
    locked = new_code_cell("model_3x3 = None  # a locked cell rebinding the name is not the student's",
                           metadata={"nbgrader": {"locked": True, "grade": False, "solution": False, "grade_id": "data"}})
    nb.cells.insert(2, locked)                                     # after the student's model cell
    assert defining_cells(nb, ["test_model", "test_curves"]) == {
        "test_model": ("2a) El modelo", ["model_3x3"]), "test_curves": ("2d) Curvas", ["fig"])}
    messages = cause_messages(nb, ["test_model", "test_train"])
    assert messages["test_model"].code == "cause.defined_in"       # no error before it: where to look
    assert messages["test_model"].render("es") == "Revisa la celda «2a) El modelo», que define `model_3x3`:"
    assert messages["test_train"].code.startswith("cause.cell_failed")   # an error caused it: that comes first


def test_a_failing_locked_cell_in_a_section_with_several_answers_does_not_lose_the_causes():
    nb = notebook()
    broken = new_code_cell("raise ValueError('datos')", metadata={"nbgrader": {"locked": True, "grade": False,
                                                                                "solution": False, "grade_id": "d"}})
    broken.outputs = [error("ValueError", "datos", 1)]
    nb.cells.insert(5, broken)                                    # inside section 2b, which has two answers
    errors = cell_errors(nb)
    assert [e.grade_id for e in errors][:2] == ["train_3x3", "d"] and errors[1].title == "2b) Entrenamiento"
