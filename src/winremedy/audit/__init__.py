"""The audit: collect facts in one round trip per host, analyse leak samples, assess each KB, keep the results.

``run`` drives a fleet, ``collector`` builds the query and reads the answer, ``facts`` types what a host
reported, ``leaks`` turns samples into verdicts, ``assess`` turns facts into findings, ``results`` keeps
them per host, ``progress`` shows them arrive, ``command`` is ``winremedy audit``. Import from the
submodules: this package imports nothing so that its leaf modules stay cheap to import.
"""
