"""Sessions built at once by a fleet audit's threads must not race on os.environ["no_proxy"] (see transport/winrm)."""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests.utils

import winremedy.transport.winrm  # noqa: F401 - installs the one-at-a-time proxy check


def _checks(count: int) -> None:
    for _ in range(count):  # what pywinrm's build_session triggers: proxies {"no_proxy": "*"}
        requests.utils.should_bypass_proxies("http://127.0.0.1:5985/wsman", no_proxy="*")


def test_concurrent_proxy_checks_leave_no_proxy_alone(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("no_proxy", raising=False)
    with ThreadPoolExecutor(max_workers=8) as pool:
        for future in [pool.submit(_checks, 3000) for _ in range(8)]:
            future.result()  # KeyError: 'no_proxy' without the lock
    assert "no_proxy" not in os.environ
