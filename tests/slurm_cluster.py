"""A real one-node SLURM cluster for the tests: munged, slurmctld and slurmd on this machine.

`start_cluster(folder)` writes a munge key and a ``slurm.conf`` naming this host (its CPUs and
memory as ``slurmd -C`` reports them, one default partition without a time limit) into `folder`,
starts the three daemons in the foreground as children of the test process, and waits until
``sinfo`` shows the node idle. Every client command must see ``SLURM_CONF`` (`SlurmCluster.env`);
jobs inherit it from ``sbatch``. `SlurmCluster.stop` cancels the jobs left and ends the daemons it
started, by their process ids. Needs root (the daemons run as root, jobs run as the submitting
user) and the Debian packages ``slurm-wlm`` and ``munge``; `unavailable_reason` says why not.
"""

from __future__ import annotations

import os
import secrets
import shutil
import signal
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

DAEMONS = ("munged", "slurmctld", "slurmd")
# A requeued job waits cred_expire seconds before it starts again (120 by default).
CRED_EXPIRE_S = 5
CLIENTS = ("sinfo", "squeue", "sbatch", "srun", "scancel", "scontrol")
SBIN = ("/usr/sbin", "/usr/local/sbin", "/sbin")


def _which(name: str) -> str | None:
    path = os.pathsep.join([os.environ.get("PATH", ""), *SBIN])
    return shutil.which(name, path=path)


def unavailable_reason() -> str | None:
    """Why a cluster cannot be started here (None when it can)."""
    missing = [name for name in DAEMONS + CLIENTS if _which(name) is None]
    if missing:
        return (f"SLURM is not installed ({', '.join(missing)} not found); "
                "apt-get install slurm-wlm munge")
    if os.geteuid() != 0:
        return "the SLURM daemons of the test cluster run as root; the tests run as another user"
    return None


@dataclass
class SlurmCluster:
    """A running one-node cluster: its folder, ``slurm.conf``, node name and daemons."""

    folder: Path
    conf: Path
    node: str
    procs: dict[str, subprocess.Popen] = field(default_factory=dict)

    @property
    def env(self) -> dict[str, str]:
        """The environment for client commands and the jobs they submit."""
        return {**os.environ, "SLURM_CONF": str(self.conf)}

    def run(self, *cmd: str, check: bool = True, timeout: float = 30) -> str:
        """Run a SLURM client command against this cluster; its stdout."""
        done = subprocess.run(cmd, env=self.env, capture_output=True, text=True,
                              timeout=timeout, check=False)
        if check and done.returncode != 0:
            raise RuntimeError(f"{' '.join(cmd)} exited {done.returncode}: {done.stderr.strip()}")
        return done.stdout

    def jobs(self) -> list[tuple[str, str]]:
        """(job id, state) of every job the controller still knows, array tasks one by one."""
        out = self.run("squeue", "--noheader", "--array", "--states=all", "--format=%i %T")
        return [tuple(line.split()) for line in out.splitlines() if line.strip()]

    def idle(self) -> bool:
        """Whether the node is idle: no job holds it, no job's processes are left."""
        try:
            out = self.run("sinfo", "--noheader", "--format=%t", timeout=10)
        except (RuntimeError, subprocess.TimeoutExpired):
            return False
        return out.split() == ["idle"]

    def log(self, name: str) -> str:
        """The tail of a daemon's log (for failure messages)."""
        path = self.folder / "log" / f"{name}.out"
        return path.read_text(errors="replace")[-4000:] if path.exists() else ""

    def stop(self, timeout: float = 20) -> None:
        """Cancel the jobs left, then end the daemons this cluster started (slurmd,
        slurmctld, munged, by process id) and wait for them."""
        if self.procs.get("slurmctld") and self.procs["slurmctld"].poll() is None:
            subprocess.run(["scancel", "--quiet", f"--user={os.getuid()}"],
                           env=self.env, capture_output=True, timeout=15, check=False)
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline:
                try:
                    active = [s for _, s in self.jobs() if s in ("RUNNING", "COMPLETING",
                                                                  "PENDING", "CONFIGURING")]
                except (RuntimeError, subprocess.TimeoutExpired):
                    break
                if not active:
                    break
                time.sleep(0.5)
        for name in ("slurmd", "slurmctld", "munged"):
            proc = self.procs.pop(name, None)
            if proc is None or proc.poll() is not None:
                continue
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=timeout)


def _free_ports(n: int) -> list[int]:
    socks = [socket.socket() for _ in range(n)]
    try:
        for s in socks:
            s.bind(("127.0.0.1", 0))
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


def _node_line() -> tuple[str, str]:
    """This host as slurmd sees it: (short name, ``NodeName=... CPUs=... RealMemory=...``)."""
    out = subprocess.run([_which("slurmd"), "-C"], capture_output=True, text=True, timeout=30,
                         check=True).stdout
    line = next(li for li in out.splitlines() if li.startswith("NodeName="))
    fields = dict(item.split("=", 1) for item in line.split())
    return fields["NodeName"], line


def write_conf(folder: Path) -> tuple[Path, str]:
    """Write ``slurm.conf`` for a one-node cluster in `folder`; (its path, the node's name)."""
    node, node_line = _node_line()
    ctld_port, slurmd_port = _free_ports(2)
    for sub in ("state", "spool", "log", "munge"):
        (folder / sub).mkdir(parents=True, exist_ok=True)
    text = f"""\
ClusterName=dsetest
SlurmctldHost={node}(127.0.0.1)
SlurmctldPort={ctld_port}
SlurmdPort={slurmd_port}
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket={folder / 'munge' / 'munge.socket'},cred_expire={CRED_EXPIRE_S}
StateSaveLocation={folder / 'state'}
SlurmdSpoolDir={folder / 'spool'}
SlurmctldPidFile={folder / 'slurmctld.pid'}
SlurmdPidFile={folder / 'slurmd.pid'}
PlugStackConfig={folder / 'plugstack.conf'}
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
SchedulerType=sched/builtin
SchedulerParameters=sched_interval=1
MpiDefault=none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
ReturnToService=2
KillWait=5
MinJobAge=300
InactiveLimit=0
Waittime=0
MessageTimeout=10
SlurmctldTimeout=30
SlurmdTimeout=30
{node_line.replace(f'NodeName={node}', f'NodeName={node} NodeAddr=127.0.0.1')} State=UNKNOWN
PartitionName=cpu Nodes={node} Default=YES MaxTime=INFINITE State=UP
"""
    (folder / "plugstack.conf").write_text("")
    conf = folder / "slurm.conf"
    conf.write_text(text)
    return conf, node


def _die_with_parent() -> None:
    """In a daemon's child process before exec: a SIGTERM when the test process dies (Linux's
    PR_SET_PDEATHSIG), so a killed test run leaves no daemons behind. Its own session keeps a
    Ctrl-C of the tests from reaching the daemons before `SlurmCluster.stop` cancels the jobs."""
    import ctypes

    try:
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG = 1
    except (OSError, AttributeError):
        pass


def _start(cluster: SlurmCluster, name: str, *args: str) -> None:
    log = open(cluster.folder / "log" / f"{name}.out", "ab")  # noqa: SIM115 - kept by the child
    try:
        cluster.procs[name] = subprocess.Popen(
            [_which(name), *args], env=cluster.env, stdout=log, stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL, start_new_session=True, preexec_fn=_die_with_parent)
    finally:
        log.close()


def _wait(cluster: SlurmCluster, what: str, ready, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not ready():
        dead = [n for n, p in cluster.procs.items() if p.poll() is not None]
        if dead or time.monotonic() > deadline:
            why = f"{dead[0]} exited" if dead else f"not within {timeout:.0f} s"
            logs = "\n".join(f"--- {n}:\n{cluster.log(n)}" for n in cluster.procs)
            raise RuntimeError(f"test SLURM cluster: {what}: {why}\n{logs}")
        time.sleep(0.2)


def start_cluster(folder: Path, timeout: float = 60) -> SlurmCluster:
    """Start munged, slurmctld and slurmd with their files in `folder`; return once the node
    is idle. On failure the daemons started so far are stopped and RuntimeError names why."""
    folder = Path(folder).absolute()
    conf, node = write_conf(folder)
    cluster = SlurmCluster(folder=folder, conf=conf, node=node)
    munge = folder / "munge"
    munge.chmod(0o700)
    key = munge / "munge.key"
    key.write_bytes(secrets.token_bytes(1024))
    key.chmod(0o400)
    try:
        _start(cluster, "munged", "--foreground", "--force", f"--socket={munge / 'munge.socket'}",
               f"--key-file={key}", f"--pid-file={munge / 'munged.pid'}",
               f"--seed-file={munge / 'munged.seed'}")
        _wait(cluster, "munged", lambda: (munge / "munge.socket").exists(), timeout)
        _start(cluster, "slurmctld", "-D", "-i", "-f", str(conf))
        _start(cluster, "slurmd", "-D", "-N", node, "-f", str(conf))
        _wait(cluster, "node idle", cluster.idle, timeout)
    except BaseException:
        cluster.stop()
        raise
    return cluster


if __name__ == "__main__":  # start one by hand: python tests/slurm_cluster.py <folder>
    import sys

    c = start_cluster(Path(sys.argv[1]))
    print(f"export SLURM_CONF={c.conf}  # daemons: "
          + ", ".join(f"{n} {p.pid}" for n, p in c.procs.items()), flush=True)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    try:
        signal.pause()
    finally:
        c.stop()
