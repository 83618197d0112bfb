"""autograder: grades cnnkit course notebooks on top of nbgrader.

See ARCHITECTURE.md. Student-facing helpers live in :mod:`autograder.checks`.
"""
__all__ = ["checks"]
