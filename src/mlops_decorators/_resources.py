"""Memory readings of the machine and of this process: `memory_guard` decides with them,
`monitor` reports them.

- **Host**: total and available memory (``MemAvailable``: free memory plus what the kernel
  can reclaim). On Linux it is read from ``/proc/meminfo``, the file psutil reads, at a tenth
  of the cost of ``psutil.virtual_memory()`` (which parses every field); elsewhere through
  psutil, imported when first needed.
- **Cgroup**: limit and usage of the cgroup the process runs in, v1 or v2, found through
  ``/proc/self/cgroup`` and the mount table, and of every cgroup above it up to the
  hierarchy's root (a parent's limit binds its children too). In a container this is the
  limit that gets the process OOM-killed, which the host's figures do not show.
- **Process**: resident set size (RSS).
- **GPU** (optional): free and total memory of the visible NVIDIA devices, through NVML.

What cannot change while the process runs is found once: where the cgroup files are, the
page size. What can is read on each reading, with one positioned read of a file kept open:
the host's ``MemAvailable`` and the usage of each cgroup that has a limit. Limits are read
again at most once a second (a Kubernetes in-place resize changes them); ``memory.stat``,
for the page cache a cgroup could reclaim, only for an exact reading.

A reading never fails for lack of cgroups or permissions: the host reading is always there,
and `SystemProbe.problem` says why no cgroup is used.
"""

from __future__ import annotations

import os
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from ._fork import fork_safe_lock, reset_in_child
from ._values import format_bytes

HOST = "host"
CGROUP_V1 = "cgroup v1"
CGROUP_V2 = "cgroup v2"

#: Seconds between two readings of the cgroup limits (usage is read every time).
LIMITS_TTL_S = 1.0
# cgroup v1 says "no limit" with the largest page-aligned counter (0x7FFFFFFFFFFFF000 with
# 4 KiB pages, lower with bigger pages): anything this large is no limit.
_V1_UNLIMITED = 2**62


@dataclass(frozen=True, slots=True)
class MemoryReading:
    """How much memory one source allows and how much of it is still available, in bytes.

    Attributes:
        source: ``"host"``, ``"cgroup v1"`` or ``"cgroup v2"``.
        limit: What the source allows: the host's total memory, or the cgroup's limit.
        available: What is still available under that limit: the host's ``MemAvailable``,
            or the cgroup's limit minus its usage (never below 0).
        where: The file the limit was read from (a cgroup's ``memory.max``, say); None for
            the host.

    Example:
        >>> reading = MemoryReading("cgroup v2", limit=8 * 2**30, available=2**30)
        >>> reading.used, round(reading.percent, 1)
        (7516192768, 87.5)
        >>> str(reading)
        'cgroup v2: 1.0 GiB of 8.0 GiB available (87.5% used)'
    """

    source: str
    limit: int
    available: int
    where: str | None = None

    @property
    def used(self) -> int:
        """Bytes in use under the limit."""
        return self.limit - self.available

    @property
    def percent(self) -> float:
        """Percentage of the limit in use."""
        return 100.0 * self.used / self.limit if self.limit else 100.0

    def __str__(self) -> str:
        return (
            f"{self.source}: {format_bytes(self.available)} of {format_bytes(self.limit)} "
            f"available ({self.percent:.1f}% used)"
        )


@dataclass(frozen=True, slots=True)
class GpuReading:
    """Memory of one visible GPU, in bytes.

    Attributes:
        device: The device as ``CUDA_VISIBLE_DEVICES`` names it (an index or a UUID).
        free: Free memory on the device.
        total: The device's total memory.
    """

    device: str
    free: int
    total: int


class MemoryProbe(Protocol):
    """Where `memory_guard` gets its readings; pass your own as ``probe=`` (tests, fakes).

    The default is the process-wide `SystemProbe`.
    """

    def memory(self, *, exact: bool = False) -> tuple[MemoryReading, ...]:
        """The host reading, then one reading per cgroup with a limit, innermost first.

        With ``exact=False`` a cgroup's usage may include page cache the kernel could
        reclaim: never less than the exact usage, and cheaper to read.
        """
        ...

    def rss(self) -> int:
        """This process's resident set size."""
        ...

    def gpu(self) -> tuple[GpuReading, ...] | None:
        """The visible GPUs' memory, or None when NVML cannot be used here."""
        ...


def tightest(readings: tuple[MemoryReading, ...]) -> MemoryReading:
    """The reading with the least memory available: the one that binds first.

    Example:
        >>> host = MemoryReading("host", limit=64 * 2**30, available=40 * 2**30)
        >>> pod = MemoryReading("cgroup v2", limit=8 * 2**30, available=2**30)
        >>> tightest((host, pod)).source
        'cgroup v2'
    """
    return min(readings, key=lambda reading: reading.available)


class _File:
    """A file re-read from its start with one positioned read, kept open between readings."""

    __slots__ = ("fd", "path")

    def __init__(self, path: str) -> None:
        self.path = path
        self.fd = os.open(path, os.O_RDONLY)

    def read(self) -> bytes:
        return os.pread(self.fd, 65536, 0)

    def close(self) -> None:
        os.close(self.fd)


def _field(data: bytes, key: bytes) -> int | None:
    """The number after `key` at the start of a line (``/proc/meminfo``, ``memory.stat``)."""
    if data.startswith(key):
        start = 0
    else:
        start = data.find(b"\n" + key) + 1
        if not start:
            return None
    end = data.find(b"\n", start)
    return int(data[start + len(key) : end if end >= 0 else None].split()[0])


def _unescape(path: str) -> str:
    """A path from the mount table, with the kernel's octal escapes undone."""
    for escape, char in (("\\040", " "), ("\\011", "\t"), ("\\012", "\n"), ("\\134", "\\")):
        path = path.replace(escape, char)
    return path


class CgroupNotFoundError(Exception):
    """Why no memory cgroup can be read (a message for `SystemProbe.problem`)."""


@dataclass(frozen=True, slots=True)
class Cgroup:
    """Where the process's memory cgroup lives.

    Attributes:
        version: 1 or 2.
        directories: The process's cgroup directory, then each parent up to the mount point.
    """

    version: int
    directories: tuple[str, ...]


def find_cgroup(proc: str = "/proc") -> Cgroup:
    """Find the process's memory cgroup through ``<proc>/self/cgroup`` and the mount table.

    The memory controller lives in one hierarchy: a v1 ``memory`` hierarchy when one is
    mounted (also on hybrid systems, whose v2 hierarchy then has no memory controller), else
    the v2 one.

    Raises:
        CgroupNotFoundError: No memory cgroup, its hierarchy is not mounted, or the files are
            unreadable.
    """
    try:
        with open(f"{proc}/self/cgroup", encoding="utf-8") as file:
            memberships = file.read()
        with open(f"{proc}/self/mountinfo", encoding="utf-8") as file:
            mounts = file.read()
    except OSError as exc:
        raise CgroupNotFoundError(f"cannot read the cgroup tables: {exc}") from None
    v1_path = v2_path = None
    for line in memberships.splitlines():
        hierarchy, _, rest = line.partition(":")
        controllers, _, path = rest.partition(":")
        if hierarchy == "0" and not controllers:
            v2_path = path
        elif "memory" in controllers.split(","):
            v1_path = path
    for version, found in ((1, v1_path), (2, v2_path)):
        if found is None:
            continue
        mount = _mount_of(mounts, version, found)
        if mount is not None:
            return Cgroup(version, _directories(*mount, found))
    if v1_path is None and v2_path is None:
        raise CgroupNotFoundError(f"no memory cgroup in {proc}/self/cgroup")
    raise CgroupNotFoundError("the memory cgroup hierarchy is not mounted")


def _mount_of(mounts: str, version: int, path: str) -> tuple[str, str] | None:
    """(root inside the hierarchy, mount point) of the mount showing `path`, if any."""
    found = None
    for line in mounts.splitlines():
        fields = line.split()
        if "-" not in fields[6:]:
            continue
        dash = fields.index("-", 6)
        fs_type, options = fields[dash + 1], fields[dash + 3].split(",")
        if (version == 2 and fs_type == "cgroup2") or (
            version == 1 and fs_type == "cgroup" and "memory" in options
        ):
            root, point = _unescape(fields[3]), _unescape(fields[4])
            if _inside(path, root):
                return root, point
            found = found or (root, point)
    return found


def _inside(path: str, root: str) -> bool:
    return root == "/" or path == root or path.startswith(root.rstrip("/") + "/")


def _directories(root: str, point: str, path: str) -> tuple[str, ...]:
    # A container's mount often shows its own cgroup as the root: the path is relative to it.
    relative = path[len(root.rstrip("/")) :] if _inside(path, root) and root != "/" else path
    point = os.path.normpath(point)
    directory = os.path.normpath(f"{point}/{relative.strip('/')}")
    if os.path.commonpath((directory, point)) != point or not os.path.isdir(directory):
        directory = point  # a namespace hides the path: use the mount's root
    directories = [directory]
    while directory != point:
        directory = os.path.dirname(directory)
        directories.append(directory)
    return tuple(directories)


@dataclass(frozen=True, slots=True)
class _Limited:
    """One cgroup with a limit, and its files to read."""

    source: str
    limit: int
    where: str
    usage: _File
    stat: _File | None
    inactive_key: bytes


class SystemProbe:
    """The real readings: host, cgroups, RSS and GPUs of this machine and process.

    Use `system_probe` for the process-wide one; build one only to read another ``/proc``
    (tests build cgroup trees in a temporary directory).

    Args:
        proc: Where procfs is mounted.
        clock: Monotonic clock deciding when limits are read again; a seam for tests.

    Attributes:
        problem: Why no cgroup is used (no cgroups, unmounted, unreadable), or None.
        gpu_problem: Why GPU memory cannot be read (no NVML, no driver), or None.

    Example:
        >>> readings = system_probe().memory()
        >>> readings[0].source, readings[0].available <= readings[0].limit
        ('host', True)
    """

    def __init__(self, proc: str = "/proc", *, clock: Callable[[], float] = time.monotonic):
        self._proc = proc
        self._clock = clock
        self._lock = threading.Lock()
        self._files: dict[str, _File] = {}
        self._cgroup: Cgroup | None = None
        self._limited: tuple[_Limited, ...] = ()
        self._refresh_at = float("-inf")
        self._searched = False
        self._nvml: _Nvml | None = None
        self._gpu_searched = False
        self._process: Any = None
        self.problem: str | None = None
        self.gpu_problem: str | None = None
        self._retired: list[_File] = []
        self._meminfo = self._open_if(f"{proc}/meminfo", b"MemAvailable:")
        # The host's total memory is fixed while the process runs (short of memory hotplug).
        self._host_total = (
            1024 * (_field(self._meminfo.read(), b"MemTotal:") or 0) if self._meminfo else 0
        )
        self._statm = self._open_if(f"{proc}/self/statm")
        self._page_size = os.sysconf("SC_PAGE_SIZE") if self._statm is not None else 0
        reset_in_child(self)

    def _open_if(self, path: str, marker: bytes = b"") -> _File | None:
        """`path` kept open, if it can be read and shows `marker` (else psutil is used)."""
        try:
            file = _File(path)
        except OSError:
            return None
        if marker not in file.read():
            file.close()
            return None
        return file

    @property
    def cgroup(self) -> Cgroup | None:
        """The memory cgroup in use, found at the first reading (None: host only)."""
        return self._cgroup

    def memory(self, *, exact: bool = False) -> tuple[MemoryReading, ...]:
        """The host reading, then one per cgroup with a limit, innermost first.

        Args:
            exact: Subtract the page cache a cgroup could reclaim (``inactive_file``) from its
                usage; one more file read per cgroup.

        Returns:
            At least the host reading.
        """
        host = self._host()
        if self._clock() >= self._refresh_at:
            self._refresh()
        limited = self._limited  # one reference: a refresh may replace the tuple meanwhile
        if not limited:
            return (host,)
        try:
            return (host, *(_read(level, exact) for level in limited))
        except (OSError, ValueError, IndexError) as exc:  # the cgroup was removed or moved
            with self._lock:
                self._forget_cgroup(f"cgroup files stopped being readable: {exc}")
            return (host,)

    def _host(self) -> MemoryReading:
        if self._meminfo is not None:
            data = self._meminfo.read()
            start = data.find(b"MemAvailable:") + 13  # the hot path: no split, no regex
            available = int(data[start : data.find(b"\n", start)].rstrip(b" kB")) * 1024
            return MemoryReading(HOST, self._host_total, available)
        import psutil

        memory = psutil.virtual_memory()
        return MemoryReading(HOST, int(memory.total), int(memory.available))

    def rss(self) -> int:
        """This process's resident set size in bytes."""
        if self._statm is not None:
            return int(self._statm.read().split()[1]) * self._page_size
        if self._process is None:
            import psutil

            self._process = psutil.Process()
        return int(self._process.memory_info().rss)

    def _refresh(self) -> None:
        with self._lock:
            now = self._clock()
            if now < self._refresh_at:
                return  # another thread just did it
            if not self._searched:
                self._searched = True
                try:
                    self._cgroup = find_cgroup(self._proc)
                except CgroupNotFoundError as exc:
                    self.problem = str(exc)
            if self._cgroup is not None:
                self._limited = self._limits(self._cgroup)
            # Last: until now, other threads wait on the lock instead of reading old limits.
            self._refresh_at = now + LIMITS_TTL_S

    def _limits(self, cgroup: Cgroup) -> tuple[_Limited, ...]:
        source = CGROUP_V1 if cgroup.version == 1 else CGROUP_V2
        names = ("memory.limit_in_bytes",) if cgroup.version == 1 else ("memory.max", "memory.high")
        usage_name = "memory.usage_in_bytes" if cgroup.version == 1 else "memory.current"
        key = b"total_inactive_file " if cgroup.version == 1 else b"inactive_file "
        limited = []
        for directory in cgroup.directories:
            try:
                found = [(_limit(f"{directory}/{name}"), f"{directory}/{name}") for name in names]
                bounded = [(limit, where) for limit, where in found if limit is not None]
                if not bounded:
                    continue
                limit, where = min(bounded)
                usage = self._file(f"{directory}/{usage_name}")
                stat = self._file_or_none(f"{directory}/memory.stat")
            except FileNotFoundError:
                continue  # the v2 root has no memory.max; a controller may be off below it
            except (OSError, ValueError) as exc:
                self.problem = f"skipped {directory}: {exc}"
                continue
            limited.append(_Limited(source, limit, where, usage, stat, key))
        return tuple(limited)

    def _file(self, path: str) -> _File:
        file = self._files.get(path)
        if file is None:
            file = self._files[path] = _File(path)
        return file

    def _file_or_none(self, path: str) -> _File | None:
        try:
            return self._file(path)
        except OSError:
            return None

    def _forget_cgroup(self, problem: str) -> None:
        """Drop the cgroup (call with the lock held): the next refresh looks for it again."""
        self.problem = problem
        # Readers may still hold these files: retire them rather than close them now (a
        # closed descriptor's number could be reused by another file meanwhile).
        self._retired.extend(self._files.values())
        self._files.clear()
        self._limited = ()
        self._cgroup = None
        self._searched = False
        self._refresh_at = self._clock() + LIMITS_TTL_S

    def gpu(self) -> tuple[GpuReading, ...] | None:
        """Free and total memory of each GPU visible to CUDA, or None without NVML.

        NVML asks the driver; it never creates a CUDA context (``torch.cuda.mem_get_info``
        would, and hold ~300 MiB of the GPU for it). ``CUDA_VISIBLE_DEVICES`` chooses the
        devices as CUDA would: indexes or UUIDs, up to the first invalid entry.
        """
        if not self._gpu_searched:
            with self._lock:
                if not self._gpu_searched:
                    self._nvml = self._start_nvml()
                    self._gpu_searched = True
        nvml = self._nvml
        if nvml is None:
            return None
        try:
            return nvml.read()
        except nvml.error as exc:  # the device fell off the bus, the driver was unloaded
            self.gpu_problem = f"NVML failed: {exc}"
            return None

    def _start_nvml(self) -> _Nvml | None:
        try:
            import pynvml
        except ImportError:
            self.gpu_problem = "nvidia-ml-py is not installed: pip install 'mlops-decorators[gpu]'"
            return None
        try:
            return _Nvml(pynvml, os.environ.get("CUDA_VISIBLE_DEVICES"))
        except pynvml.NVMLError as exc:
            self.gpu_problem = f"NVML is not usable here: {exc}"
            return None

    def _after_fork(self) -> None:
        # Decorated functions keep this probe across fork (gunicorn --preload, DataLoader
        # workers): make it the child's. The lock may have been held by a parent thread; the
        # /proc/self/statm descriptor names the parent; NVML is not fork-safe. The cgroup and
        # /proc/meminfo descriptors stay valid: the child is in the same cgroup.
        self._lock = threading.Lock()
        self._process = None
        self._nvml = None
        self._gpu_searched = False
        if self._statm is not None:
            self._statm.close()
            self._statm = self._open_if(f"{self._proc}/self/statm")

    def close(self) -> None:
        """Close the files kept open (the probe must not be used afterwards)."""
        for file in (self._meminfo, self._statm, *self._files.values(), *self._retired):
            if file is not None:
                file.close()
        self._files.clear()
        self._retired.clear()
        self._meminfo = self._statm = None


def _limit(path: str) -> int | None:
    """The limit in a cgroup limit file, None for "no limit"."""
    with open(path, "rb") as file:
        text = file.read().strip()
    if text == b"max":
        return None
    value = int(text)
    return None if value >= _V1_UNLIMITED else value


def _read(level: _Limited, exact: bool) -> MemoryReading:
    used = int(level.usage.read())
    if exact and level.stat is not None:
        used -= _field(level.stat.read(), level.inactive_key) or 0
    return MemoryReading(level.source, level.limit, max(level.limit - used, 0), level.where)


class _Nvml:
    """Handles of the devices visible to CUDA, found once."""

    def __init__(self, nvml: Any, visible: str | None) -> None:
        nvml.nvmlInit()
        self.error: type[Exception] = nvml.NVMLError
        self._memory_info = nvml.nvmlDeviceGetMemoryInfo
        if visible is None:
            count = nvml.nvmlDeviceGetCount()
            self._devices = [(str(i), nvml.nvmlDeviceGetHandleByIndex(i)) for i in range(count)]
            return
        self._devices = []
        for token in (entry.strip() for entry in visible.split(",")):
            try:
                if token.isdigit():
                    handle = nvml.nvmlDeviceGetHandleByIndex(int(token))
                elif token.startswith(("GPU-", "MIG-")):
                    handle = nvml.nvmlDeviceGetHandleByUUID(token)
                else:
                    break  # CUDA ignores everything from the first invalid entry on ("-1")
            except nvml.NVMLError:
                break
            self._devices.append((token, handle))

    def read(self) -> tuple[GpuReading, ...]:
        readings = []
        for device, handle in self._devices:
            info = self._memory_info(handle)
            readings.append(GpuReading(device, int(info.free), int(info.total)))
        return tuple(readings)


_default: SystemProbe | None = None
_default_lock = fork_safe_lock(sys.modules[__name__], "_default_lock")


def system_probe() -> SystemProbe:
    """The process-wide `SystemProbe`, created at first use (a forked child keeps it, made
    the child's: its RSS is the child's)."""
    global _default
    if _default is None:
        with _default_lock:
            if _default is None:
                _default = SystemProbe()
    return _default
