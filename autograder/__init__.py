"""autograder: grades cnnkit course notebooks on top of nbgrader.

See ARCHITECTURE.md. What student notebooks call lives in :mod:`cnnkit.checks`.
"""
__all__ = ["checks"]
