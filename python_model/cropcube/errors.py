"""Exceptions shared by every cropcube module.

Every error names the input it is about and what is wrong with it, so that a user can act on the
message alone.
"""

from __future__ import annotations


class CropcubeError(Exception):
    """Base class of every error cropcube raises on purpose."""


class InputError(CropcubeError, ValueError):
    """An input (file, array, argument) is missing, unreadable or has the wrong content."""

    def __init__(self, what: str, problem: str) -> None:
        """Create the error.

        Args:
            what: the input, e.g. a file path or an argument name.
            problem: what is wrong with it.
        """
        super().__init__(f"{what}: {problem}")
        self.what = what
        self.problem = problem
