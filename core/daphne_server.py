"""daphne's command line, with an access log that never writes a secret a URL carries.

Programs that cannot set headers send their API key in the query (`?api_key=`: EventSource,
browser WebSockets), and webhook URLs carry their token in the path. daphne's access log
writes the whole URI; this entry point runs daphne's own CLI with the same log, those parts
redacted. `manage.py serve` and the test servers start daphne through it.
"""

from __future__ import annotations

import re
from typing import IO, Any

from daphne import cli
from daphne.access import AccessLogGenerator

SECRET_QUERY = re.compile(r"((?:^|[?&;])(?:api_key|access_token|token)=)[^&;#\s]*", re.IGNORECASE)
SECRET_PATH = re.compile(r"(/hooks/runs/)[^/?#\s]+")
REDACTED = "[redacted]"


def redact(uri: str) -> str:
    """`uri` with secret query values and webhook tokens replaced."""
    return SECRET_PATH.sub(rf"\g<1>{REDACTED}", SECRET_QUERY.sub(rf"\g<1>{REDACTED}", uri))


class RedactingAccessLog:
    """daphne's access log (an action logger), given redacted paths."""

    def __init__(self, stream: IO[str]) -> None:
        self._log = AccessLogGenerator(stream)

    def __call__(self, protocol: str, action: str, details: dict[str, Any]) -> None:
        if "path" in details:
            details = {**details, "path": redact(str(details["path"]))}
        self._log(protocol, action, details)


def main() -> None:
    # daphne's CLI builds its access log from this module-level name and offers no other hook.
    cli.AccessLogGenerator = RedactingAccessLog
    cli.CommandLineInterface.entrypoint()


if __name__ == "__main__":
    main()
