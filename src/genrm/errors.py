"""The one error type genrm raises for bad input; its message names the problem and the fix."""


class GenrmError(ValueError):
    """Bad input or state; the CLI prints the message as one line and exits with status 2."""
