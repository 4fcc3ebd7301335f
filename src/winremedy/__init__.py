"""winremedy: find and fix known memory leaks on legacy Windows fleets over WinRM."""

import logging

__version__ = "0.1.0"
__all__ = ["__version__"]

logging.getLogger(__name__).addHandler(logging.NullHandler())
