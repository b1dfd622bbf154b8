"""The one exception type a user can act on: the CLI prints it as one line."""


class UserError(Exception):
    """A problem the user can fix (bad argument, server down, wrong password).

    The CLI prints ``opsmart: <message>`` and exits with ``exit_code``; never a traceback.
    """

    def __init__(self, message: str, exit_code: int = 2) -> None:
        super().__init__(message)
        self.exit_code = exit_code
