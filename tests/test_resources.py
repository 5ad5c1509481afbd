"""Memory readings: cgroup discovery and parsing on fixture trees (v1, v2, nested, unlimited,
missing, permission denied), the host and RSS readings, NVML through a fake module, this
machine's real files, and a real child cgroup with a small limit where the machine allows it.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import threading
import types
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psutil
import pytest

from mlops_decorators import _resources
from mlops_decorators._resources import (
    LIMITS_TTL_S,
    Cgroup,
    CgroupNotFoundError,
    GpuReading,
    MemoryReading,
    SystemProbe,
    find_cgroup,
    system_probe,
    tightest,
)

GiB = 2**30
MiB = 2**20
V1_UNLIMITED = "9223372036854771712"
MEMINFO = "MemTotal:       16777216 kB\nMemFree:         1048576 kB\nMemAvailable:    8388608 kB\n"


class Tree:
    """A fake ``/proc`` and cgroup mount in a temporary directory."""

    def __init__(self, tmp_path: Path, version: int, path: str, *, mount_root: str = "/"):
        self.proc = tmp_path / "proc"
        self.mount = tmp_path / "sys fs" / ("memory" if version == 1 else "unified")
        (self.proc / "self").mkdir(parents=True)
        self.mount.mkdir(parents=True)
        self.write_proc("meminfo", MEMINFO)
        self.write_proc("self/statm", "4106 3263 1688 1 0 1995 0\n")
        point = str(self.mount).replace(" ", "\\040")  # the kernel escapes spaces
        if version == 1:
            self.write_proc("self/cgroup", f"5:cpu,cpuacct:/\n4:memory:{path}\n0::/\n")
            fs = "- cgroup cgroup rw,memory\n"
        else:
            self.write_proc("self/cgroup", f"0::{path}\n")
            fs = "- cgroup2 cgroup2 rw,nsdelegate\n"
        self.write_proc(
            "self/mountinfo",
            "22 1 0:21 / / rw,relatime shared:1 - ext4 /dev/vda rw\n"
            f"35 31 0:32 {mount_root} {point} rw,nosuid shared:9 {fs}",
        )
        self.probes: list[SystemProbe] = []

    def write_proc(self, name: str, text: str) -> None:
        (self.proc / name).write_text(text)

    def cgroup(self, relative: str, **files: str) -> Path:
        """Create the cgroup directory `relative` (to the mount) holding `files`."""
        directory = self.mount / relative.strip("/")
        directory.mkdir(parents=True, exist_ok=True)
        for name, text in files.items():
            (directory / name.replace("_", ".", 1)).write_text(text + "\n")
        return directory

    def probe(self, clock: Any = None) -> SystemProbe:
        probe = SystemProbe(str(self.proc), **({"clock": clock} if clock else {}))
        self.probes.append(probe)
        return probe


@pytest.fixture
def trees(tmp_path: Path) -> Iterator[Any]:
    made: list[Tree] = []

    def make(version: int, path: str, **kwargs: Any) -> Tree:
        tree = Tree(tmp_path / str(len(made)), version, path, **kwargs)
        made.append(tree)
        return tree

    yield make
    for tree in made:
        for probe in tree.probes:
            probe.close()


def v1_files(limit: str | int, usage: int, inactive: int = 0) -> dict[str, str]:
    return {
        "memory_limit_in_bytes": str(limit),
        "memory_usage_in_bytes": str(usage),
        "memory_stat": f"cache 10\nrss 20\ninactive_file 1\ntotal_inactive_file {inactive}\n",
    }


def v2_files(max_: str | int, usage: int, inactive: int = 0, high: str = "max") -> dict[str, str]:
    return {
        "memory_max": str(max_),
        "memory_high": high,
        "memory_current": str(usage),
        "memory_stat": f"anon 20\nfile 30\nactive_file 5\ninactive_file {inactive}\n",
    }


# -- discovery -------------------------------------------------------------------------------


def test_v1_nested_cgroups_are_found_innermost_first(trees: Any) -> None:
    tree = trees(1, "/kubepods/pod1/ctr")
    for relative in ("", "kubepods", "kubepods/pod1", "kubepods/pod1/ctr"):
        tree.cgroup(relative)
    found = find_cgroup(str(tree.proc))
    mount = str(tree.mount)
    assert found == Cgroup(
        1,
        (f"{mount}/kubepods/pod1/ctr", f"{mount}/kubepods/pod1", f"{mount}/kubepods", mount),
    )


def test_v2_cgroup_under_a_namespace_is_the_mount_root(trees: Any) -> None:
    tree = trees(2, "/")
    assert find_cgroup(str(tree.proc)) == Cgroup(2, (str(tree.mount),))


def test_a_container_mount_showing_its_own_cgroup_as_root(trees: Any) -> None:
    # Docker with cgroup v1: /proc/self/cgroup names /docker/abc, mounted as the root.
    tree = trees(1, "/docker/abc", mount_root="/docker/abc")
    assert find_cgroup(str(tree.proc)) == Cgroup(1, (str(tree.mount),))


def test_a_path_hidden_by_a_namespace_falls_back_to_the_mount_root(trees: Any) -> None:
    tree = trees(2, "/../outside")
    assert find_cgroup(str(tree.proc)).directories == (str(tree.mount),)


def test_hybrid_systems_use_the_v1_memory_hierarchy(trees: Any) -> None:
    tree = trees(1, "/user")
    tree.cgroup("user")
    with open(tree.proc / "self/mountinfo", "a") as file:
        file.write("41 31 0:38 / /sys/fs/cgroup/unified rw - cgroup2 cgroup2 rw\n")
    assert find_cgroup(str(tree.proc)).version == 1


@pytest.mark.parametrize(
    ("cgroup_file", "problem"),
    [
        ("5:cpu,cpuacct:/\n", "no memory cgroup"),
        ("4:memory:/x\n", "not mounted"),
        (None, "cannot read the cgroup tables"),
    ],
)
def test_missing_cgroups_say_why(trees: Any, cgroup_file: str | None, problem: str) -> None:
    tree = trees(2, "/")
    if cgroup_file is None:
        (tree.proc / "self/cgroup").unlink()
    else:
        tree.write_proc("self/cgroup", cgroup_file)
        tree.write_proc("self/mountinfo", "22 1 0:21 / / rw - ext4 /dev/vda rw\n")
    with pytest.raises(CgroupNotFoundError, match=problem):
        find_cgroup(str(tree.proc))
    probe = tree.probe()
    assert [r.source for r in probe.memory()] == ["host"]
    assert probe.cgroup is None
    assert problem in (probe.problem or "")


# -- readings --------------------------------------------------------------------------------


def test_v1_readings_per_limited_level_and_the_tightest(trees: Any) -> None:
    tree = trees(1, "/kubepods/pod1/ctr")
    tree.cgroup("", **v1_files(V1_UNLIMITED, 12 * GiB))
    tree.cgroup("kubepods", **v1_files(8 * GiB, 5 * GiB))
    pod = tree.cgroup("kubepods/pod1", **v1_files(4 * GiB, 3 * GiB, inactive=GiB))
    tree.cgroup("kubepods/pod1/ctr", **v1_files(6 * GiB, 3 * GiB, inactive=GiB))
    probe = tree.probe()
    host, ctr, pod_reading, kubepods = probe.memory()
    assert host == MemoryReading("host", 16 * GiB, 8 * GiB)
    assert (ctr.limit, ctr.available) == (6 * GiB, 3 * GiB)
    assert pod_reading == MemoryReading("cgroup v1", 4 * GiB, GiB, f"{pod}/memory.limit_in_bytes")
    assert (kubepods.limit, kubepods.available) == (8 * GiB, 3 * GiB)
    assert tightest(probe.memory()) == pod_reading
    # Exact: the page cache the kernel could reclaim is not counted as used.
    assert tightest(probe.memory(exact=True)).available == 2 * GiB


def test_v2_reads_memory_max_and_memory_high_and_skips_the_root(trees: Any) -> None:
    tree = trees(2, "/pod/ctr")
    tree.cgroup("", memory_stat="anon 1\n")  # the root has no memory.max
    tree.cgroup("pod", **v2_files("max", 3 * GiB, high=str(4 * GiB)))
    ctr = tree.cgroup("pod/ctr", **v2_files(2 * GiB, GiB + 512 * MiB, inactive=256 * MiB))
    probe = tree.probe()
    _host, inner, outer = probe.memory()
    assert inner == MemoryReading("cgroup v2", 2 * GiB, 512 * MiB, f"{ctr}/memory.max")
    assert (outer.limit, outer.available, outer.where) == (4 * GiB, GiB, outer.where)
    assert outer.where is not None
    assert outer.where.endswith("pod/memory.high")
    assert probe.memory(exact=True)[1].available == 768 * MiB
    assert probe.cgroup is not None
    assert probe.cgroup.version == 2


def test_v2_levels_without_the_memory_controller_are_skipped(trees: Any) -> None:
    tree = trees(2, "/a/b")
    tree.cgroup("a", **v2_files(GiB, 0))
    tree.cgroup("a/b")  # controller not enabled here: no memory files
    readings = tree.probe().memory()
    assert [r.limit for r in readings] == [16 * GiB, GiB]


@pytest.mark.parametrize("version", [1, 2])
def test_unlimited_cgroups_leave_the_host_reading_only(trees: Any, version: int) -> None:
    tree = trees(version, "/a")
    files = v1_files(V1_UNLIMITED, GiB) if version == 1 else v2_files("max", GiB)
    tree.cgroup("", **files)
    tree.cgroup("a", **files)
    probe = tree.probe()
    assert probe.memory() == (MemoryReading("host", 16 * GiB, 8 * GiB),)
    assert probe.problem is None
    assert probe.cgroup is not None


def test_a_memory_stat_without_inactive_file_subtracts_nothing(trees: Any) -> None:
    tree = trees(2, "/a")
    tree.cgroup("a", memory_max=str(4 * GiB), memory_high="max", memory_current=str(GiB))
    (tree.mount / "a" / "memory.stat").write_text("anon 1\nfile 2\n")
    assert tree.probe().memory(exact=True)[1].available == 3 * GiB


def test_malformed_and_unrelated_mount_lines_are_skipped(trees: Any) -> None:
    tree = trees(2, "/a")
    tree.cgroup("a", **v2_files(GiB, 0))
    mounts = (tree.proc / "self/mountinfo").read_text()
    tree.write_proc(
        "self/mountinfo",
        "garbage without a separator\n"
        "50 1 0:40 /elsewhere /mnt/other rw - cgroup2 cgroup2 rw\n" + mounts,
    )
    assert find_cgroup(str(tree.proc)).directories[0] == str(tree.mount / "a")


def test_usage_above_the_limit_reads_as_nothing_available(trees: Any) -> None:
    tree = trees(2, "/a")
    tree.cgroup("a", **v2_files("max", 3 * GiB, high=str(2 * GiB)))
    reading = tree.probe().memory()[1]
    assert (reading.available, reading.used, reading.percent) == (0, 2 * GiB, 100.0)


def test_permission_denied_on_the_cgroup_tables_falls_back_to_the_host(
    trees: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    tree = trees(1, "/a")
    tree.cgroup("a", **v1_files(GiB, 0))
    denied = str(tree.proc / "self/cgroup")
    real_open = open

    def guarded_open(path: Any, *args: Any, **kwargs: Any) -> Any:
        if str(path) == denied:  # root reads anything: deny by hand
            raise PermissionError(13, "Permission denied", denied)
        return real_open(path, *args, **kwargs)

    monkeypatch.setattr(_resources, "open", guarded_open, raising=False)
    probe = tree.probe()
    assert [r.source for r in probe.memory()] == ["host"]
    assert "Permission denied" in (probe.problem or "")


def test_permission_denied_on_one_level_uses_the_others(
    trees: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    tree = trees(1, "/a/b")
    tree.cgroup("a", **v1_files(2 * GiB, GiB))
    inner = tree.cgroup("a/b", **v1_files(GiB, 0))
    real_open = os.open

    def guarded_open(path: Any, *args: Any, **kwargs: Any) -> int:
        if str(path).startswith(str(inner)):
            raise PermissionError(13, "Permission denied", str(path))
        return real_open(path, *args, **kwargs)

    monkeypatch.setattr(_resources.os, "open", guarded_open)
    probe = tree.probe()
    assert [r.limit for r in probe.memory()] == [16 * GiB, 2 * GiB]
    assert probe.problem is not None
    assert str(inner) in probe.problem


def test_limits_are_read_again_after_their_ttl_and_usage_every_time(trees: Any) -> None:
    tree = trees(2, "/a")
    directory = tree.cgroup("a", **v2_files(4 * GiB, GiB))
    now = [100.0]
    probe = tree.probe(clock=lambda: now[0])
    assert probe.memory()[1].limit == 4 * GiB
    (directory / "memory.max").write_text(f"{8 * GiB}\n")  # an in-place resize
    (directory / "memory.current").write_text(f"{2 * GiB}\n")
    assert (probe.memory()[1].limit, probe.memory()[1].available) == (4 * GiB, 2 * GiB)
    now[0] += LIMITS_TTL_S
    assert probe.memory()[1].limit == 8 * GiB


def test_a_cgroup_that_stops_being_readable_falls_back_then_is_found_again(trees: Any) -> None:
    tree = trees(2, "/a")
    directory = tree.cgroup("a", **v2_files(4 * GiB, GiB))
    now = [0.0]
    probe = tree.probe(clock=lambda: now[0])
    assert len(probe.memory()) == 2
    (directory / "memory.current").write_text("")  # as if the cgroup were torn down
    assert [r.source for r in probe.memory()] == ["host"]
    assert "stopped being readable" in (probe.problem or "")
    (directory / "memory.current").write_text(f"{GiB}\n")
    assert len(probe.memory()) == 1  # not searched again before the TTL
    now[0] += LIMITS_TTL_S
    assert len(probe.memory()) == 2


def test_threads_reading_while_limits_refresh_all_see_whole_readings(trees: Any) -> None:
    tree = trees(1, "/a/b")
    tree.cgroup("a", **v1_files(4 * GiB, GiB))
    tree.cgroup("a/b", **v1_files(2 * GiB, GiB))
    ticks = iter(range(10**9))
    probe = tree.probe(clock=lambda: next(ticks) * LIMITS_TTL_S / 3)  # a refresh every 3rd
    start = threading.Barrier(8)
    seen: list[list[int]] = []

    def reader() -> None:
        start.wait(timeout=10)
        limits = [[r.limit for r in probe.memory()] for _ in range(200)]
        seen.extend(limits)

    threads = [threading.Thread(target=reader) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert len(seen) == 1600
    assert [limits for limits in seen if limits != [16 * GiB, 2 * GiB, 4 * GiB]] == []


def test_host_and_rss_come_from_proc_without_psutil(trees: Any) -> None:
    tree = trees(2, "/")
    probe = tree.probe()
    assert probe.memory()[0] == MemoryReading("host", 16 * GiB, 8 * GiB)
    assert probe.rss() == 3263 * os.sysconf("SC_PAGE_SIZE")


def test_without_proc_files_host_and_rss_come_from_psutil(tmp_path: Path) -> None:
    probe = SystemProbe(str(tmp_path / "no-proc"))
    host = probe.memory()[0]
    assert host.limit == psutil.virtual_memory().total
    assert abs(host.available - psutil.virtual_memory().available) < 256 * MiB
    assert abs(probe.rss() - psutil.Process().memory_info().rss) < 64 * MiB
    assert probe.cgroup is None
    assert "cannot read" in (probe.problem or "")


def test_reading_properties_and_text() -> None:
    reading = MemoryReading("cgroup v1", 8 * GiB, 2 * GiB, "/x/memory.limit_in_bytes")
    assert (reading.used, reading.percent) == (6 * GiB, 75.0)
    assert str(reading) == "cgroup v1: 2.0 GiB of 8.0 GiB available (75.0% used)"
    assert MemoryReading("host", 0, 0).percent == 100.0


# -- GPU through NVML ------------------------------------------------------------------------


class FakeNvml(types.ModuleType):
    """The parts of pynvml the probe uses, over a list of (uuid, free, total) devices."""

    class NVMLError(Exception):
        pass

    def __init__(self, devices: list[tuple[str, int, int]], fail_init: bool = False):
        super().__init__("pynvml")
        self.devices = devices
        self.fail_init = fail_init

    def nvmlInit(self) -> None:
        if self.fail_init:
            raise self.NVMLError("Driver Not Loaded")

    def nvmlDeviceGetCount(self) -> int:
        return len(self.devices)

    def nvmlDeviceGetHandleByIndex(self, index: int) -> int:
        if not 0 <= index < len(self.devices):
            raise self.NVMLError("Invalid Argument")
        return index

    def nvmlDeviceGetHandleByUUID(self, uuid_: str) -> int:
        for index, device in enumerate(self.devices):
            if device[0] == uuid_:
                return index
        raise self.NVMLError("Not Found")

    def nvmlDeviceGetMemoryInfo(self, handle: int) -> Any:
        _, free, total = self.devices[handle]
        return types.SimpleNamespace(free=free, total=total, used=total - free)


DEVICES = [("GPU-aaa", GiB, 16 * GiB), ("GPU-bbb", 8 * GiB, 16 * GiB)]


@pytest.mark.parametrize(
    ("visible", "expected"),
    [
        (None, [("0", GiB), ("1", 8 * GiB)]),
        ("1", [("1", 8 * GiB)]),
        ("GPU-bbb,0", [("GPU-bbb", 8 * GiB), ("0", GiB)]),
        ("0,-1,1", [("0", GiB)]),  # CUDA stops at the first invalid entry
        ("0,7,1", [("0", GiB)]),
        ("", []),
    ],
)
def test_gpu_readings_follow_cuda_visible_devices(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, visible: str | None, expected: list[Any]
) -> None:
    monkeypatch.setitem(sys.modules, "pynvml", FakeNvml(DEVICES))
    if visible is None:
        monkeypatch.delenv("CUDA_VISIBLE_DEVICES", raising=False)
    else:
        monkeypatch.setenv("CUDA_VISIBLE_DEVICES", visible)
    readings = SystemProbe(str(tmp_path)).gpu()
    assert readings == tuple(GpuReading(device, free, 16 * GiB) for device, free in expected)


@pytest.mark.parametrize(
    ("module", "problem"),
    [(None, "nvidia-ml-py is not installed"), (FakeNvml([], fail_init=True), "Driver Not Loaded")],
)
def test_gpu_without_nvml_is_none_with_the_reason(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, module: Any, problem: str
) -> None:
    monkeypatch.setitem(sys.modules, "pynvml", module)
    probe = SystemProbe(str(tmp_path))
    assert probe.gpu() is None
    assert problem in (probe.gpu_problem or "")


def test_an_nvml_failure_after_start_reads_as_none(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    nvml = FakeNvml(DEVICES)
    monkeypatch.setitem(sys.modules, "pynvml", nvml)
    monkeypatch.delenv("CUDA_VISIBLE_DEVICES", raising=False)
    probe = SystemProbe(str(tmp_path))
    assert probe.gpu() is not None

    def fallen_off(handle: int) -> Any:
        raise nvml.NVMLError("GPU is lost")

    monkeypatch.setattr(nvml, "nvmlDeviceGetMemoryInfo", fallen_off)
    probe._nvml = None
    probe._gpu_searched = False
    assert probe.gpu() is None
    assert "GPU is lost" in (probe.gpu_problem or "")


# -- this machine ----------------------------------------------------------------------------


def test_this_machines_real_readings_agree_with_psutil() -> None:
    probe = system_probe()
    assert probe is system_probe()
    readings = probe.memory()
    host = readings[0]
    assert host.source == "host"
    assert host.where is None
    assert host.limit == psutil.virtual_memory().total
    assert abs(host.available - psutil.virtual_memory().available) < 512 * MiB
    assert abs(probe.rss() - psutil.Process().memory_info().rss) < 64 * MiB
    for reading in readings[1:]:
        assert reading.source in ("cgroup v1", "cgroup v2")
        assert reading.where is not None
        assert os.path.exists(reading.where)
        assert 0 <= reading.available <= reading.limit
    assert probe.memory(exact=True)[0].source == "host"


def test_this_machines_cgroup_is_found_where_proc_says() -> None:
    try:
        memberships = Path("/proc/self/cgroup").read_text()
    except OSError:
        pytest.skip("no /proc/self/cgroup here")
    if "memory" not in memberships and "0::" not in memberships:
        pytest.skip("no memory cgroup here")
    probe = system_probe()
    probe.memory()
    assert probe.cgroup is not None, probe.problem
    assert os.path.isdir(probe.cgroup.directories[0])
    line = next(
        (line for line in memberships.splitlines() if ":memory:" in line),
        memberships.splitlines()[-1],
    )
    assert probe.cgroup.directories[0].endswith(line.split(":", 2)[2].rstrip("/"))


def test_a_forked_child_reads_its_own_rss() -> None:
    probe = system_probe()
    probe.rss()
    code = textwrap.dedent(
        """
        import json, os, sys
        from mlops_decorators import memory_guard, memory_guard_stats
        from mlops_decorators._resources import system_probe

        @memory_guard(max_percent=100)
        def step():
            return os.getpid()

        parent = system_probe()
        parent.rss()
        step()
        reader, writer = os.pipe()
        pid = os.fork()
        if pid == 0:
            child = system_probe()
            blob = b"x" * (64 * 2**20)  # written: resident in the child only
            ran = step() == os.getpid()  # the guard decorated before the fork still reads
            reading = memory_guard_stats(step).last_reading
            report = [child is parent, child.rss(), ran, reading.available > 0]
            os.write(writer, json.dumps(report).encode())
            os._exit(0)
        os.waitpid(pid, 0)
        same, child_rss, ran, read = json.loads(os.read(reader, 1000))
        print(json.dumps([same, child_rss - parent.rss() > 32 * 2**20, ran, read]))
        """
    )
    if not hasattr(os, "fork"):
        pytest.skip("no fork here")
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    )
    assert out.stdout.strip() == "[true, true, true, true]"


def _writable_memory_cgroup() -> tuple[int, Path] | None:
    """(version, this process's cgroup directory) when a child cgroup can be made here."""
    if not hasattr(os, "geteuid") or os.geteuid() != 0:
        return None
    probe = SystemProbe()
    try:
        probe.memory()
        cgroup = probe.cgroup
    finally:
        probe.close()
    if cgroup is None:
        return None
    directory = Path(cgroup.directories[0])
    return (cgroup.version, directory) if os.access(directory, os.W_OK) else None


def test_a_real_child_cgroup_limit_is_seen_and_named_by_the_guard() -> None:
    """Creates a cgroup with a 256 MiB limit, runs a subprocess inside it, and checks that
    the guard there reads the limit and names it when refusing."""
    found = _writable_memory_cgroup()
    if found is None:
        pytest.skip("needs root and a writable memory cgroup hierarchy")
    version, parent = found
    child = parent / f"mlops-test-{uuid.uuid4().hex[:8]}"
    try:
        child.mkdir()
    except OSError as exc:
        pytest.skip(f"cannot create a child cgroup here: {exc}")
    limit_file = child / ("memory.limit_in_bytes" if version == 1 else "memory.max")
    try:
        if not limit_file.exists():
            pytest.skip("the memory controller is not enabled for child cgroups")
        limit_file.write_text(str(256 * MiB))
        script = textwrap.dedent(
            """
            import json
            from mlops_decorators import MemoryGuardError, memory_guard
            from mlops_decorators._resources import system_probe, tightest

            @memory_guard(estimate="300MiB")
            def load():
                return "ran"

            try:
                outcome = load()
            except MemoryGuardError as exc:
                outcome = str(exc)
            reading = tightest(system_probe().memory())
            print(json.dumps([reading.source, reading.limit, reading.where, outcome]))
            """
        )
        enter = f'echo $$ > "{child}/cgroup.procs" && exec "$0" -c "$1"'
        result = subprocess.run(
            ["sh", "-c", enter, sys.executable, script],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert result.returncode == 0, result.stderr
        import json

        source, limit, where, outcome = json.loads(result.stdout)
        assert (source, limit) == (f"cgroup v{version}", 256 * MiB)
        assert where == str(limit_file)
        assert outcome.startswith("refused ")
        assert f"of 256 MiB (cgroup v{version} limit; max 90%)" in outcome
        assert "estimate 300 MiB" in outcome
    finally:
        child.rmdir()
