# nbgrader_config.py for a course that runs the cnnkit notebooks with stock nbgrader
# (nbgrader generate_assignment / autograde / validate / formgrader), without `cnnkit grade`.
#
# Put it in the course root (the folder that holds source/, release/, submitted/...):
#
#     cnnkit nbgrader-config > nbgrader_config.py
#
# and put in source/ID/ the instructor notebook (solutions/ID/ID.ipynb) with the PUBLIC manifest
# (assignments/ID/assignment.toml, never solutions/ID/assignment.toml: nbgrader hands every file of
# source/ID/ to the students).
#
# What stock nbgrader measures with these notebooks: a test cell earns its points when it runs
# without an error in the student's kernel. The visible checks run there (a student can bypass
# them); the hidden checks are not verified at all (the kernel only prints "lo comprueba el
# corrector al entregar"). `cnnkit grade` verifies everything outside the kernel: it is the
# trustworthy path. See docs/NBGRADER.md.
#
# It needs cnnkit installed where nbgrader runs (the notebooks' kernel needs it anyway): the stubs
# and the course id are read from autograder.course, so they are the ones `cnnkit release` writes.
from autograder import course as _cnnkit_course

c = get_config()  # noqa: F821 (defined by nbgrader's config loader)

# Your course's id (nbgrader's exchange and formgrader use it).
c.CourseDirectory.course_id = _cnnkit_course.COURSE_ID

# The notebooks are in Spanish, and so are the stubs that replace the solutions in a release.
c.ClearSolutions.code_stub = {"python": _cnnkit_course.CODE_STUB}
c.ClearSolutions.text_stub = _cnnkit_course.TEXT_STUB

# nbgrader's per-cell limit (30 s) is shorter than importing TensorFlow in the setup cell on a
# loaded machine, or than a smoke-profile training cell.
c.Execute.timeout = _cnnkit_course.STOCK_CELL_TIMEOUT
c.ExecutePreprocessor.timeout = _cnnkit_course.STOCK_CELL_TIMEOUT
c.Execute.startup_timeout = 180

# nbgrader shells out to the `alembic` command when it creates a gradebook; from a virtual
# environment that is not activated that command is not on PATH. Read the revision in-process.
_cnnkit_course.patch_alembic_lookup()

# The kernel picks the profile like a student's run: `full` on a GPU machine, `smoke` elsewhere.
# To autograde a class in the quick profile on a GPU machine, uncomment:
# import os; os.environ["CNNKIT_PROFILE"] = "smoke"
