"""The one error type for user mistakes: the CLI prints its message on one line and exits with code 2."""


class UserError(ValueError):
    """Bad input the user can fix; the message names the problem and the fix, on one line."""
