"""The one error type genrm raises for bad input; its message names the problem and the fix."""


class GenrmError(ValueError):
    """Bad input or state; the CLI prints the message as one line and exits with status 2."""


class SetupError(GenrmError):
    """A mistake in how genrm is set up (a wrong API token or URL) that would fail every later call too:
    the RL hooks raise it instead of falling back (see `genrm.integrations.guard`)."""
