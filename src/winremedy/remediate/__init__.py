"""Remediation: turn audit findings into a fixed fleet, step by step over a Transport.

The steps, each a small module over :class:`~winremedy.transport.base.Transport`
(so the CLI and the Ansible action plugins share them):

* ``plan``: pure: findings x repository x host settings -> what to do per host and KB;
* ``stage``: put the exact package on the host (push in chunks, pull from a URL, copy
  from a UNC share), checking free disk and SHA-256 on the host;
* ``tasks`` and ``install``: run the installer in a scheduled task as SYSTEM (wusa
  refuses a WinRM logon), poll it, map its exit code to an outcome;
* ``reboot`` and ``window``: restart now, in the host's maintenance window, or never;
  KB903927 restarts the LCS service instead;
* ``verify``: audit again after the restart;
* ``journal`` and ``rollout``: batches, the failure limit, and a journal so that a
  rerun after an interruption never installs or reboots twice;
* ``poller``: how long and how often a host is waited for (an install, a restart).

``runner`` runs them for one host. ``settings`` defines the options once (the
CLI's flags and the collection's argument spec are built from it); ``fleet`` is
what both front doors do around a host's run; ``command`` is the CLI alone.
"""
