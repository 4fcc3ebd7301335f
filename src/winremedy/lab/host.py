"""An emulated Windows host's state: the model behind one lab port, without its command line.

Everything is evaluated lazily from the lab clock: a reboot records when the
host goes down and when it comes back, and the first question asked after
that instant (``is_up``, ``run``, ``facts``...) finishes the boot: pending
updates reach their files, processes restart with new PIDs, leaks start over.

Install model (the remediation issue drives it through :meth:`HostModel.install`):
an update that needs a restart is registered at once (CBS 0x60 plus
``RebootPending``, or update.exe keys plus ``PendingFileRenameOperations`` on
2003) and changes its files at the next boot; one that needs none (KB903927)
changes them at once, but a running process keeps the old code until it restarts.
See ``registration`` for how installs show in QFE and the registry.

This module is the bottom of the lab's layers above its data: the host's
scheduled tasks are state here, and the batch lines they run are run by the
layer above (``lab.scheduler`` through :class:`winremedy.lab.emulated.EmulatedHost`,
which also gives the host its command line). Nothing here imports a program,
a script stand-in or the command line.
"""

from __future__ import annotations

import enum
import math
import random
from dataclasses import dataclass, field
from typing import Any, Sequence

from ..audit import hostsettings
from ..catalog.service_packs import ServicePack, service_pack
from ..audit.facts import CbsState, HostFacts, Sample, normalize_kb
from ..versions import WinVersion
from . import registration, updates
from .api import Counters, WireFault
from ..instants import iso
from .clock import Clock
from .dynamics import (
    NONPAGED_POOL,
    NSI_PRIVATE_BYTES,
    POOL_NSPC,
    RTCSRV_PRIVATE_BYTES,
    Indicators,
    LeakEpoch,
    LeakSpec,
    Scenario,
)
from ..inbox import DEFAULT_SYSTEM_ROOT
from ..remediate.schtasks import INTERNATIONAL  # the WinRM account's regional settings
from .faults import FaultInjector, FaultSpec
from .filesystem import FileSystem, environment
from .profiles import ALL_PATHS, OsProfile, PatchLevel
from .quirks import DEFAULT_ADAPTERS, DEFAULT_LOCALE, LOCALES, Adapter

LCS_PRODUCTS = ("lcs2003", "lcs2005")
LOOPBACK = "127.0.0.1"
_CLR_VERSIONS = {"6.1.7601": "2.0.50727.5420", "6.1.7600": "2.0.50727.4927"}
_CLR_LEGACY = "2.0.50727.3053"  # .NET 2.0 SP2, as WMF 2.0 needs on Vista/2008/2003


@dataclass(frozen=True)
class HostSpec:
    """What the fleet file says about one host."""

    name: str
    profile: OsProfile
    user: str
    password: str
    auth: tuple[str, ...] = ("ntlm", "basic")
    installed: tuple[str, ...] = ()  # KBs in place (and applied) before the lab starts
    pending: tuple[str, ...] = ()  # KBs installed, waiting for a restart, when the lab starts
    products: tuple[str, ...] = ()
    leak: LeakSpec = LeakSpec()
    faults: FaultSpec = FaultSpec()
    powershell: str | None = "2.0"
    patch_level: PatchLevel = "base"
    syn_attack_protect: int | None = None
    seed: int = 0
    free_disk_mb: int = 20480  # free space on C:, where packages are staged
    timezone: str = "UTC"  # IANA name of the host's local time zone
    maintenance_window: str | None = None  # e.g. "Sun 02:00-04:00", wall-clock time in ``timezone``
    windows_update: str = "running"  # the wuauserv service: running | disabled
    fips: bool = False  # FipsAlgorithmPolicy enabled
    system_root: str = DEFAULT_SYSTEM_ROOT  # %SystemRoot% (C:\WINNT on a 2003 upgraded from 2000)
    locale: str = DEFAULT_LOCALE  # short-date order and formats the host prints (quirks.LOCALES)
    adapters: tuple[Adapter, ...] = DEFAULT_ADAPTERS
    dotnet: tuple[str, ...] = ("2.0", "3.0", "3.5")
    winrm: str = "2.0"
    allow_unencrypted: bool = False  # WinRM Service/AllowUnencrypted (Windows' default: false)
    replay: str | None = None  # a recording (winremedy --record) whose answers this host gives to the project's scripts

    @property
    def has_lcs(self) -> bool:
        return any(p in LCS_PRODUCTS for p in self.products)


class InstallOutcome(str, enum.Enum):
    """What an installer reports; the install steps map it to each installer's exit code."""

    INSTALLED = "installed"
    REBOOT_REQUIRED = "reboot_required"
    ALREADY_INSTALLED = "already_installed"
    NOT_APPLICABLE = "not_applicable"


@dataclass
class Installation:
    kb: str
    installed_at: float  # host time
    effective_at: float | None = None  # when its files took effect; None while a restart is pending


@dataclass
class Process:
    name: str
    pid: int
    started_at: float
    private_bytes: int
    working_set: int
    handles: int
    command_line: str = ""


@dataclass
class ScheduledTask:
    """A one-shot task as SYSTEM (a host's ``tasks``, by lowercased name) and where its batch has got to."""

    name: str
    command: str  # the .cmd file it runs
    run_as: str = "SYSTEM"
    next_at: float | None = None  # host time of its next step (the start, then each line); None when idle
    started_at: float | None = None
    lines: list[str] = field(default_factory=list)  # the batch, read when it starts
    pc: int = 0  # index of the next line
    errorlevel: int = 0


@dataclass(frozen=True)
class Service:
    name: str
    display_name: str
    process: str  # key into the host's processes
    state: str = "Running"
    start_mode: str = "Auto"  # Win32_Service.StartMode: Auto | Manual | Disabled


# process key -> (image name, command line, private MB, handles); indicator processes take their
# private bytes from the leak model instead.
_PROCESSES: dict[str, tuple[str, str, float, int]] = {
    "system": ("System", "", 0.1, 500),
    "smss": ("smss.exe", "\\SystemRoot\\System32\\smss.exe", 0.3, 30),
    "csrss": ("csrss.exe", "%SystemRoot%\\system32\\csrss.exe", 1.8, 400),
    "services": ("services.exe", "C:\\Windows\\system32\\services.exe", 4.5, 220),
    "lsass": ("lsass.exe", "C:\\Windows\\system32\\lsass.exe", 3.8, 750),
    "svchost_netsvc": ("svchost.exe", "C:\\Windows\\System32\\svchost.exe -k NetworkService", 9.5, 480),
    "svchost_localsvc": ("svchost.exe", "C:\\Windows\\System32\\svchost.exe -k LocalService", 6.0, 420),
    "svchost_nonet": ("svchost.exe", "C:\\Windows\\system32\\svchost.exe -k LocalServiceNoNetwork", 12.0, 380),
    "rtcsrv": ("RTCSrv.exe", '"C:\\Program Files\\Microsoft LC\\Server\\RTCSrv.exe"', 60.0, 900),
}
_INDICATOR_OF_PROCESS = {"svchost_localsvc": NSI_PRIVATE_BYTES, "rtcsrv": RTCSRV_PRIVATE_BYTES}


class HostModel:
    """One Windows host of the lab as state; :class:`winremedy.lab.emulated.EmulatedHost` adds its command line
    and the programs its tasks run, and with them implements :class:`winremedy.lab.api.LabHost`."""

    max_shells_per_user = 5  # WinRM 2.0 default
    max_envelope_kb = 150

    def __init__(self, spec: HostSpec, clock: Clock, *, port: int = 0, reboot_downtime: float = 90.0) -> None:
        self.spec = spec
        self.name = spec.name
        self.profile = spec.profile
        self.allow_unencrypted = spec.allow_unencrypted
        self.clock = clock
        self.address = LOOPBACK
        self.port = port
        self.reboot_downtime = reboot_downtime  # host seconds between shutdown and the next boot
        self.counters = Counters()
        self.fs = FileSystem(spec.system_root)
        self.free_disk = spec.free_disk_mb * 1024 * 1024  # bytes; lab.stage lowers it as it writes to fs
        self.shares: dict[str, str] = {}  # UNC share (\\server\share) -> controller directory, set by the lab
        self.shell_elapsed = 0.0  # host seconds the running command line has waited (ping): later tools read later
        self.tasks: dict[str, ScheduledTask] = {}  # by lowercased name; lab.scheduler runs their lines
        self.files: dict[str, str] = self.profile.baseline_files(spec.patch_level)
        self.registry: dict[str, Any] = registration.os_registry(self.profile, spec.syn_attack_protect)
        self.registry.update(self._quirk_registry())
        self.services = self._services()
        self.processes: dict[str, Process] = {}
        self.boot_time = 0.0
        self._faults = FaultInjector(spec.faults, spec.seed)
        self._installs: dict[str, Installation] = {}
        self._service_pack: ServicePack | None = None  # installed, taking effect at the next boot
        self._qfe_rows: list[registration.QfeRow] = []
        self._shutdown_at: float | None = None
        self._back_at: float | None = None
        self._link_down: tuple[float, float] | None = None
        self._nsi_freed_at = -math.inf
        self._boots = 0
        self._settling = False
        self.indicators = Indicators(spec.seed, spec.leak, self._indicator_names(), self.profile.is_2003)

        rng = random.Random(spec.seed)
        now = clock.now()
        first_boot = float(int(now - rng.uniform(3600, 3 * 86400)))
        self._qfe_rows = registration.baseline_qfe(self.profile, spec.powershell, first_boot - 200 * 86400)
        for age, kb in enumerate(spec.installed, start=1):
            self._install(kb, first_boot - age * 86400)
        self._boot(first_boot)
        for kb in spec.pending:
            self._install(kb, now)

    # --- LabHost -------------------------------------------------------------------------------

    def is_up(self) -> bool:
        if self.spec.faults.unreachable:
            return False
        self._settle()
        now = self.clock.now()
        if self._link_down is not None and self._link_down[0] <= now < self._link_down[1]:
            return False
        return self._shutdown_at is None or now < self._shutdown_at

    def check_password(self, user: str, password: str) -> bool:
        if self.spec.faults.bad_auth:
            return False
        return user.split("\\")[-1].lower() == self.spec.user.lower() and password == self.spec.password

    def nt_credentials(self) -> list[tuple[str, str, str]]:
        if self.spec.faults.bad_auth:
            return []
        return [("", self.spec.user, self.spec.password), (self.name.upper(), self.spec.user, self.spec.password)]

    def accepts_auth(self, mechanism: str) -> bool:
        return mechanism.lower() in self.spec.auth

    def next_fault(self, action: str) -> WireFault | None:
        return self._faults.next_fault(action)  # the server counts the faults it injects

    # --- updates and reboots ------------------------------------------------------------------

    def install(self, kb: str, *, at: float | None = None) -> InstallOutcome:
        """Install an update at host time ``at`` (default now; an installer run while the host settles
        passes its own time); counts as an install when it changes anything."""
        if at is None:
            self._settle()
            at = self.clock.now()
        outcome = self._install(kb, at)
        if outcome in (InstallOutcome.INSTALLED, InstallOutcome.REBOOT_REQUIRED):
            self.counters.installs += 1
        return outcome

    def install_service_pack(self, kb: str, *, at: float | None = None) -> InstallOutcome:
        """A service pack's installer at host time ``at``: registered at once (CBS install pending and
        ``RebootPending``); the next boot makes the host that service pack (build, CSDVersion, files at its
        base revision, never downgrading a newer file)."""
        pack = service_pack(kb)
        if pack is None:
            raise ValueError(f"not a service pack the lab knows: {kb!r}")
        if at is None:
            self._settle()
            at = self.clock.now()
        if self._service_pack is not None:
            return InstallOutcome.REBOOT_REQUIRED
        if self.profile.sp >= pack.sp:
            return InstallOutcome.ALREADY_INSTALLED
        if (self.profile.version, self.profile.sp) != (pack.from_version, pack.from_sp):
            return InstallOutcome.NOT_APPLICABLE
        self._service_pack = pack
        self._installs[pack.kb] = Installation(pack.kb, at)
        self.registry.update(registration.install_registry(pack.kb, self.profile, at, CbsState.INSTALL_PENDING))
        self.registry.update(registration.pending_registry(self.profile, []))
        self.counters.installs += 1
        return InstallOutcome.REBOOT_REQUIRED

    def reboot(self, delay: float = 0.0, *, at: float | None = None) -> bool:
        """Schedule a restart ``delay`` host seconds after ``at`` (default now: a program run while the
        host settles passes its own host time); False if one is already scheduled (as rc 1190)."""
        if at is None:
            self._settle()
            at = self.clock.now()
        if self._shutdown_at is not None:
            return False
        self._shutdown_at = at + delay
        self._back_at = math.inf if self.spec.faults.no_return else self._shutdown_at + self.reboot_downtime
        self.counters.reboots += 1
        return True

    def abort_reboot(self, at: float | None = None) -> bool:
        """``shutdown /a``: cancel a restart whose shutdown has not begun; False if there is none (rc 1116)."""
        at = self.clock.now() if at is None else at
        if self._shutdown_at is None or at >= self._shutdown_at:
            return False
        self._shutdown_at = self._back_at = None
        self.counters.reboots -= 1
        return True

    def set_link(self, up: bool, at: float, settle: float = 0.0) -> None:
        """The network adapter is disabled (``up`` False) or enabled at host time ``at``; once enabled,
        the link carries traffic ``settle`` host seconds later.

        Disabling it makes the NSI service notify every registered client and free the state of the
        dead ones (KB2847346), so the NSI leak starts over from its base, still unfixed.
        """
        if not up:
            self.counters.nic_bounces += 1
            self._link_down = (at, math.inf)
            self._nsi_freed_at = at
        elif self._link_down is not None:
            self._link_down = (self._link_down[0], at + settle)

    def service_pid(self, service: Service) -> int:
        """Win32_Service.ProcessId, sc's PID: the process of a running service, 0 for one that is not running."""
        process = self.processes.get(service.process)
        return process.pid if process is not None and service.state == "Running" else 0

    def restart_service(self, name: str) -> bool:
        """Restart a service's process (new PID, code reloaded); False if there is no such service."""
        self._settle()
        service = self.services.get(name.lower())
        if service is None:
            return False
        now = self.clock.now()
        rng = random.Random(f"{self.spec.seed}:{name}:{now}")
        self.processes[service.process] = self._start_process(service.process, now, rng)
        return True

    def installed(self) -> dict[str, Installation]:
        return dict(self._installs)

    def pending_reboot(self) -> list[str]:
        self._settle()
        return registration.pending_reasons(self.registry)

    # --- what a collector reads ---------------------------------------------------------------

    def registry_value(self, path: str) -> Any:
        """A registry value by its full path (``HKLM\\...\\Name``, any case); None when absent."""
        wanted = path.lower()
        return next((value for known, value in self.registry.items() if known.lower() == wanted), None)

    def service(self, name: str) -> Service | None:
        """A service as Win32_Service shows it (state, start mode), by its short name."""
        return self.services.get(name.lower())

    def environment(self) -> dict[str, str]:
        """The system environment variables a command on the host sees (SystemRoot, windir, SystemDrive...)."""
        return environment(self.spec.system_root)

    def default_route_adapter(self) -> Adapter | None:
        """The adapter whose IP configuration has a default gateway (Win32_NetworkAdapterConfiguration
        .DefaultIPGateway), as NetConnectionID names it; None on a host without one."""
        return next((adapter for adapter in self.spec.adapters if adapter.default_route), None)

    def adapter(self, name: str) -> Adapter | None:
        """An adapter by its NetConnectionID (as netsh matches it, any case)."""
        return next((adapter for adapter in self.spec.adapters if adapter.name.lower() == name.lower()), None)

    def indicator(self, name: str, t: float | None = None) -> int:
        """A leak indicator (bytes) at host time ``t`` (default now)."""
        self._settle()
        return int(self.indicators.value(name, self.clock.now() if t is None else t, self._epoch(name)))

    def process_snapshot(self, t: float | None = None) -> list[Process]:
        """Processes with their memory at host time ``t`` (default now; the leaking ones grown)."""
        self._settle()
        snapshot = []
        for key, process in self.processes.items():
            indicator = _INDICATOR_OF_PROCESS.get(key)
            if indicator in self.indicators.names:
                private = self.indicator(indicator, t)
                grown = max(0, private - process.private_bytes)
                process = Process(
                    process.name,
                    process.pid,
                    process.started_at,
                    private,
                    int(private * 1.15),
                    process.handles + grown // 65536,
                    process.command_line,
                )
            snapshot.append(process)
        return snapshot

    def pool_tags(self, t: float | None = None) -> dict[str, tuple[int, int]]:
        """The nonpaged pool tag table at host time ``t`` (default now): tag -> (bytes, outstanding allocations)."""
        self._settle()
        return self.indicators.pool_tags(self.clock.now() if t is None else t, self._epoch(NONPAGED_POOL))

    def qfe(self) -> list[registration.QfeRow]:
        self._settle()
        return list(self._qfe_rows)

    def facts(self, sample_times: Sequence[float] | None = None) -> dict[str, Any]:
        """The model's state in the HostFacts JSON shape (``HostFacts.from_dict`` accepts it)."""
        self._settle()
        now = self.clock.now()
        times = list(sample_times) if sample_times else [now]
        hotfixes = [row.as_hotfix() for row in self._qfe_rows]
        for kb in self._installs:
            hotfixes += registration.registered_hotfixes(kb, self.profile, self.registry)
        facts = HostFacts(
            host=self.name,
            os=self.profile.os_info(),
            source="lab",
            collected_at=iso(now),
            powershell_version=self.spec.powershell,
            clr_version=self.clr_version,
            files=dict.fromkeys(ALL_PATHS) | self.files,
            hotfixes=hotfixes,
            products=list(self.spec.products),
            registry=dict(self.registry),
            pending_reboot=registration.pending_reasons(self.registry),
            boot_time=iso(self.boot_time),
            samples={
                name: [Sample(t, float(self.indicators.value(name, t, self._epoch(name)))) for t in times]
                for name in self.indicators.names
            },
        )
        return facts.to_dict()

    def status(self) -> dict[str, Any]:
        """A compact view for ``lab status``: state and counters."""
        up = self.is_up()
        return {
            "name": self.name,
            "port": self.port,
            "up": up,
            "os": self.profile.family,
            "sp": self.profile.sp,
            "arch": self.profile.arch,
            "installed": sorted(kb for kb, i in self._installs.items() if i.effective_at is not None),
            "pending": sorted(kb for kb, i in self._installs.items() if i.effective_at is None),
            "files": dict(self.files),
            "boot_time": iso(self.boot_time),
            "pending_reboot": registration.pending_reasons(self.registry),
            "leak": self.spec.leak.scenario.value,
            "leaking": self._leaking(),
            "counters": vars(self.counters) | {"scripts": dict(self.counters.scripts)},
        }

    # --- internals ----------------------------------------------------------------------------

    def run_task_step(self, task: ScheduledTask) -> None:
        """Run the task's due step. The host model alone has no programs, so its batches do nothing;
        :class:`winremedy.lab.emulated.EmulatedHost` runs them with ``lab.scheduler``."""
        task.next_at = None

    def _settle(self) -> None:
        """Catch up with host time, in time order: task steps (a step may install or schedule a
        restart) while the host is up, and the end of a reboot's downtime."""
        if self._settling:  # a program run by a task step calls back into the host
            return
        self._settling = True
        try:
            now = self.clock.now()
            while True:
                step = self._next_task_step()
                if step is not None and step[0] <= now and (self._shutdown_at is None or step[0] < self._shutdown_at):
                    self.run_task_step(step[1])
                elif self._back_at is not None and now >= self._back_at:
                    back = self._back_at
                    self._interrupt_tasks(back)
                    self._shutdown_at = self._back_at = None
                    self._boot(back)
                else:
                    return
        finally:
            self._settling = False

    def _next_task_step(self) -> tuple[float, ScheduledTask] | None:
        """The earliest pending step of any task: (host time, task)."""
        due = [(task.next_at, task) for task in self.tasks.values() if task.next_at is not None]
        return min(due, key=lambda item: item[0]) if due else None

    def _interrupt_tasks(self, back_at: float) -> None:
        """A restart (the host is back at ``back_at``) kills the running batches and misses the starts it slept through."""
        for task in self.tasks.values():
            if task.next_at is not None and (task.started_at is not None or task.next_at < back_at):
                task.next_at = None

    def _install(self, kb_text: str, at: float) -> InstallOutcome:
        kb = normalize_kb(kb_text)
        if kb is None:
            raise ValueError(f"not a KB id: {kb_text!r}")
        if kb in self._installs:
            return InstallOutcome.ALREADY_INSTALLED
        update = updates.effect(kb, self.profile)
        if not update.applicable:
            return InstallOutcome.NOT_APPLICABLE
        self._installs[kb] = Installation(kb, at)
        state = CbsState.INSTALL_PENDING if update.restart else CbsState.INSTALLED
        self.registry.update(registration.install_registry(kb, self.profile, at, state))
        if self.profile.is_2003:
            self._qfe_rows.append(registration.qfe_row(kb, self.profile, at))
        if not update.restart:
            self._apply(kb, at)
            return InstallOutcome.INSTALLED
        self.registry.update(registration.pending_registry(self.profile, sorted(update.files)))
        return InstallOutcome.REBOOT_REQUIRED

    def _apply(self, kb: str, at: float) -> None:
        """The update's files take effect (never downgrading a newer file)."""
        installation = self._installs[kb]
        installation.effective_at = at
        for path, version in updates.effect(kb, self.profile).files.items():
            current = self.files.get(path)
            if current is None or WinVersion.parse(version) > WinVersion.parse(current):
                self.files[path] = version
        if not self.profile.is_2003:
            self.registry.update(registration.install_registry(kb, self.profile, installation.installed_at, CbsState.INSTALLED))
            self._qfe_rows.append(registration.qfe_row(kb, self.profile, installation.installed_at))

    def _boot(self, at: float) -> None:
        if self._service_pack is not None:
            self._enter_service_pack(self._service_pack)
        for kb, installation in self._installs.items():
            if installation.effective_at is None:
                self._apply(kb, at)
        for key in registration.PENDING_REASONS.values():
            self.registry.pop(key, None)
        self.boot_time = at
        self._boots += 1
        rng = random.Random(f"{self.spec.seed}:boot:{self._boots}")
        self.processes = {key: self._start_process(key, at, rng) for key in self._process_keys()}

    def _enter_service_pack(self, pack: ServicePack) -> None:
        """The host boots into the service pack: its OS profile, version registry values and base files."""
        self.profile = OsProfile(self.profile.family, pack.sp, self.profile.arch)
        self.registry.update(registration.os_registry(self.profile, None))
        for path, version in self.profile.baseline_files("base").items():
            current = self.files.get(path)
            if current is None or WinVersion.parse(version) > WinVersion.parse(current):
                self.files[path] = version
        self._service_pack = None

    def _start_process(self, key: str, at: float, rng: random.Random) -> Process:
        image, command_line, private_mb, handles = _PROCESSES[key]
        pid = 4 if key == "system" else rng.randrange(200, 6000, 4)
        private = int(private_mb * 1024 * 1024 * rng.uniform(0.9, 1.1))
        indicator = _INDICATOR_OF_PROCESS.get(key)
        if indicator in self.indicators.names:
            private = int(self.indicators.value(indicator, at, LeakEpoch(at, True)))
        return Process(image, pid, at, private, int(private * 1.15), handles, command_line)

    def _process_keys(self) -> list[str]:
        keys = ["system", "smss", "csrss", "services", "lsass", "svchost_netsvc"]
        if not self.profile.is_2003:
            keys += ["svchost_localsvc", "svchost_nonet"]
        if self.spec.has_lcs:
            keys.append("rtcsrv")
        return keys

    def _services(self) -> dict[str, Service]:
        services = [Service("winrm", "Windows Remote Management (WS-Management)", "svchost_netsvc")]
        update_name = "Automatic Updates" if self.profile.is_2003 else "Windows Update"
        if self.spec.windows_update == "disabled":
            services.append(Service("wuauserv", update_name, "svchost_netsvc", "Stopped", "Disabled"))
        else:
            services.append(Service("wuauserv", update_name, "svchost_netsvc"))
        if not self.profile.is_2003:
            services.append(Service("nsi", "Network Store Interface Service", "svchost_localsvc"))
            services.append(Service("bfe", "Base Filtering Engine", "svchost_nonet"))
        if self.spec.has_lcs:
            services.append(Service("rtcsrv", "Live Communications Server", "rtcsrv"))
        return {s.name: s for s in services}

    def _quirk_registry(self) -> dict[str, Any]:
        """The values behind the host's quirks, where Windows keeps them (see ``audit.hostsettings``)."""
        fips = hostsettings.FIPS_POLICY_2003 if self.profile.is_2003 else hostsettings.FIPS_POLICY
        disabled = self.spec.windows_update == "disabled"
        locale = LOCALES[self.spec.locale]
        separator = next((c for c in locale.short_date if not c.isalpha()), "/")
        return {
            INTERNATIONAL + "\\iDate": str(locale.date_order),  # REG_SZ, as schtasks reads it (remediate.schtasks)
            INTERNATIONAL + "\\sShortDate": locale.short_date,
            INTERNATIONAL + "\\sDate": separator,
            hostsettings.WUAUSERV_START: hostsettings.SERVICE_DISABLED if disabled else 2,
            fips: int(self.spec.fips),
            hostsettings.SYSTEM_ROOT: self.spec.system_root,
        }

    def _indicator_names(self) -> tuple[str, ...]:
        names = [NONPAGED_POOL]
        if not self.profile.is_2003:
            names += [NSI_PRIVATE_BYTES, POOL_NSPC]
        if self.spec.has_lcs:
            names.append(RTCSRV_PRIVATE_BYTES)
        return tuple(names)

    def _epoch(self, indicator: str) -> LeakEpoch:
        """Since when the code behind ``indicator`` has run, and whether that code has the fix."""
        scenario = self.spec.leak.scenario
        start = self.boot_time
        if scenario is Scenario.NSI and "svchost_localsvc" in self.processes:
            start = max(self.processes["svchost_localsvc"].started_at, self._nsi_freed_at)
        elif scenario is Scenario.LCS and "rtcsrv" in self.processes:
            start = self.processes["rtcsrv"].started_at
        fix = self.spec.leak.fixed_by
        installation = self._installs.get(fix) if fix else None
        fixed = scenario is Scenario.NONE or (
            installation is not None and installation.effective_at is not None and installation.effective_at <= start
        )
        return LeakEpoch(start, fixed)

    def _leaking(self) -> bool:
        return not self._epoch(NONPAGED_POOL).fixed

    @property
    def clr_version(self) -> str | None:
        if self.spec.powershell is None:
            return None
        return _CLR_VERSIONS.get(self.profile.version, _CLR_LEGACY)
