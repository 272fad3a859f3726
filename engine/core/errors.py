"""Exceptions the engine raises; the provider turns them into QgsProcessingException."""


class BuildSegError(Exception):
    """A user error: the message names the problem and the fix."""


class Cancelled(BuildSegError):
    """The user cancelled the run; nothing was written."""

    def __init__(self, message: str = "Cancelled by the user; no output was written."):
        super().__init__(message)


def first_line(exc: BaseException, most: int = 200) -> str:
    """The first line of an exception's message, at most `most` characters; its type's name when it says
    nothing (an empty message is what a truncated file's EOFError carries)."""
    return (str(exc).splitlines() or [type(exc).__name__])[0][:most]

