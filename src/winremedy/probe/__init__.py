"""Readiness probe: can each host be audited and remediated, and what to do when it cannot (``winremedy probe``)."""
