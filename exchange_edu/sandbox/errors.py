"""The one domain error of the sandbox app; the API layer maps it to a 4xx response."""


class SandboxError(Exception):
    """Bad input or a request the sandbox refuses; `field` names the input a form should flag.

    Raised inside a service's transaction, so nothing the service did is kept.
    """

    def __init__(self, field: str, message: str, *, status: int = 400) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message
        self.status = status  # 400 bad input, 404 unknown object, 409 state conflict (paused, ...)
