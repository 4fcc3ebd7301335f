"""What a fleet's ``auth`` lists need besides the WinRM listeners: a Kerberos realm and client certificates.

Kerberos hosts are domain members: one realm (``lab.kdc``) holds every Kerberos host's ``HTTP/<name>``
service principal and its account as a domain user, so an account has one password across the realm.
Certificate hosts map the lab CA's client certificate of their account (one per account, in ``DIR/certs``).
"""

from __future__ import annotations

import importlib.util
import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path

from .errors import LabError
from .emulated import EmulatedHost
from .kdc import ENV_SH, KRB5_DIR, KerberosRealm, write_env_sh
from .wsman.tls import TlsMaterial, make_client_certificate

CERTS_DIR = "certs"
_PYTHON_KERBEROS = ("gssapi", "krb5")  # pyspnego's Kerberos acceptor needs both


@dataclass
class LabAccounts:
    """The lab's realm (None without Kerberos hosts) and each certificate account's (cert, key) files."""

    directory: Path
    realm: KerberosRealm | None = None
    certificates: dict[str, tuple[Path, Path]] = field(default_factory=dict)

    @property
    def realm_name(self) -> str | None:
        return self.realm.realm if self.realm else None

    def stop(self) -> None:
        """Stop the KDC and remove the realm (database, keytab, krb5.conf, env.sh): nothing outlives the lab."""
        if self.realm is not None:
            self.realm.stop()
            shutil.rmtree(self.realm.directory, ignore_errors=True)
            (self.directory / ENV_SH).unlink(missing_ok=True)
            self.realm = None


def start_accounts(directory: Path, hosts: list[EmulatedHost], scheme: str, tls: TlsMaterial | None) -> LabAccounts:
    """Create what the hosts' mechanisms need; a Kerberos realm is started and exported to this process."""
    accounts = LabAccounts(directory)
    for mechanism in ("credssp", "certificate"):
        users = [host.name for host in hosts if mechanism in host.spec.auth]
        if users and scheme != "https":
            raise LabError(f"{mechanism} authentication ({users[0]}) needs an HTTPS lab: lab up --scheme https")
    if tls is not None:
        for user in sorted({host.spec.user.lower() for host in hosts if "certificate" in host.spec.auth}):
            accounts.certificates[user] = make_client_certificate(tls, directory / CERTS_DIR, f"{user}@localhost")
    kerberos = [host for host in hosts if "kerberos" in host.spec.auth]
    if kerberos:
        missing = [name for name in _PYTHON_KERBEROS if importlib.util.find_spec(name) is None]
        if missing:
            raise LabError(f"Kerberos needs the Python packages {', '.join(missing)}: pip install 'winremedy[kerberos]'")
        realm = KerberosRealm(directory / KRB5_DIR)
        shutil.rmtree(realm.directory, ignore_errors=True)  # a realm left by a killed lab
        realm.create([host.name for host in kerberos], _domain_users(kerberos))
        realm.start()
        accounts.realm = realm
        os.environ.update(realm.environment())  # the acceptor reads the keytab and krb5.conf from here
        write_env_sh(directory, realm)
    return accounts


def _domain_users(hosts: list[EmulatedHost]) -> dict[str, str]:
    users: dict[str, tuple[str, str]] = {}
    for host in hosts:
        user = host.spec.user  # principal names are case-sensitive: the inventory uses the fleet's spelling
        known = users.setdefault(user, (host.spec.password, host.name))
        if known[0] != host.spec.password:
            raise LabError(
                f"Kerberos account {host.spec.user} has different passwords on {known[1]} and {host.name}; "
                "a realm holds one password per account"
            )
    return {user: password for user, (password, _) in users.items()}
