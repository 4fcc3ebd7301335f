"""Host facts from saved files: facts JSON, ``systeminfo`` and ``wmic qfe`` output.

For hosts that cannot be audited over WinRM: an operator saves the output of
``systeminfo`` and ``wmic qfe`` on the host and ``winremedy assess`` reads it
here. What such files cannot say stays ``None`` in :class:`HostFacts`.
"""

from .decoding import decode_text
from .qfe import parse_qfe
from .reader import parse_facts_text, read_facts_file, read_facts_files
from .systeminfo import parse_systeminfo

__all__ = [
    "decode_text",
    "parse_facts_text",
    "parse_qfe",
    "parse_systeminfo",
    "read_facts_file",
    "read_facts_files",
]
