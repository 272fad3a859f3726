"""Exceptions the engine raises; the provider turns them into QgsProcessingException."""


class BuildSegError(Exception):
    """A user error: the message names the problem and the fix."""


class Cancelled(BuildSegError):
    """The user cancelled the run; nothing was written."""

    def __init__(self, message: str = "Cancelled by the user; no output was written."):
        super().__init__(message)
