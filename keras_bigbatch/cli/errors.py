"""`UsageError`: bad input to the `keras-bigbatch` command."""


class UsageError(Exception):
    """Bad input: printed as `error: ...`, exit status 2."""
