#!/usr/bin/python3
"""Runs a systemd service's commands under that unit's own sandboxing, where systemd is not PID 1.

The deployment test's machines (CI's and ours) boot with another init, so `systemctl start` is not
there; this harness reads the unit file `jwt-allauth init` generated and applies its settings
itself, the way systemd's exec step would, so the service is tested under exactly the unit it
ships with: a setting added to the unit that this file does not know stops the test. It is an
emulation, not systemd: the settings it leaves out are NOT_EMULATED below, and what systemd does
besides that it does not (the cgroup, the journal, a few implied filters) is in docs/testing.md,
"The unit's sandbox without systemd".

  sandbox.py run UNIT --notify-log FILE [--pid-file FILE]
      as `systemctl start` + stay in the foreground: the Runtime/State/Logs directories, every
      ExecStartPre= then ExecStart=, each in the sandbox; listens on $NOTIFY_SOCKET (an abstract
      address) and writes each message to FILE with its time and sender, keeping only the main
      process's (NotifyAccess=main). SIGHUP runs ExecReload= (as `systemctl reload`); SIGTERM
      stops as KillMode=/KillSignal=/TimeoutStopSec= say. Exits with the main process's status.
  sandbox.py exec UNIT -- COMMAND [ARGS…]
      one command in the same sandbox, as the unit's user (a probe: what can the service see, write?).

Needs root (namespaces, mounts) and Debian's python3-seccomp; /usr/bin/python3, not a pyenv one.
"""
import ctypes
import errno
import grp
import os
import pwd
import resource
import re
import select
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time

import seccomp

libc = ctypes.CDLL(None, use_errno=True)

# Settings applied below. Every key of [Service] must be in EMULATED or NOT_EMULATED.
EMULATED = {
    "User", "Group", "SupplementaryGroups", "UMask", "ExecStartPre", "ExecStart", "ExecReload",
    "Type", "NotifyAccess", "KillSignal", "KillMode", "TimeoutStopSec", "LimitNICE", "Nice",
    "RuntimeDirectory", "RuntimeDirectoryMode", "StateDirectory", "StateDirectoryMode",
    "LogsDirectory", "LogsDirectoryMode", "ProtectSystem", "ReadWritePaths", "ProtectHome",
    "PrivateTmp", "PrivateDevices", "PrivateMounts", "NoNewPrivileges", "CapabilityBoundingSet",
    "AmbientCapabilities", "ProtectKernelTunables", "ProtectKernelModules", "ProtectKernelLogs",
    "ProtectControlGroups", "ProtectClock", "ProtectHostname", "ProtectProc", "ProcSubset",
    "RestrictAddressFamilies", "RestrictNamespaces", "RestrictRealtime", "RestrictSUIDSGID",
    "LockPersonality", "MemoryDenyWriteExecute", "SystemCallArchitectures", "SystemCallFilter",
    "SystemCallErrorNumber",
}
# Known, and not reproduced here, with why.
NOT_EMULATED = {
    "Restart": "no restart on failure: a service that dies fails the test instead",
    "RestartSec": "(with Restart=)",
    "RemoveIPC": "System V IPC and POSIX message queues of the user are not removed at stop; the service makes none",
}
UNKNOWN_MESSAGE = "sandbox.py does not know {key}= (in {unit}): emulate it, or list it in NOT_EMULATED with why"

CLONE_NEWNS, CLONE_NEWUTS = 0x00020000, 0x04000000
NAMESPACE_FLAGS = 0x00020000 | 0x04000000 | 0x08000000 | 0x10000000 | 0x20000000 | 0x40000000 | 0x02000000 | 0x00000080
MS_RDONLY, MS_NOSUID, MS_NODEV, MS_NOEXEC = 1, 2, 4, 8
MS_REMOUNT, MS_NOATIME, MS_NODIRATIME, MS_BIND, MS_MOVE, MS_REC = 32, 1024, 2048, 4096, 8192, 16384
MS_SLAVE, MS_RELATIME, MS_STRICTATIME = 1 << 19, 1 << 21, 1 << 24
PR_CAPBSET_DROP, PR_SET_NO_NEW_PRIVS, PR_SET_MDWE, PR_MDWE_REFUSE_EXEC_GAIN = 24, 38, 65, 1
AF_NAMES = {"AF_UNIX": 1, "AF_LOCAL": 1, "AF_INET": 2, "AF_INET6": 10, "AF_NETLINK": 16, "AF_PACKET": 17}
LIMITS = {"LimitNICE": 13, "LimitNOFILE": 7, "LimitCORE": 4}  # RLIMIT_*
S_ISUID_ISGID = 0o6000


def die(message):
    print(f"sandbox.py: {message}", file=sys.stderr)
    sys.exit(2)


def check(result, what):
    if result != 0:
        code = ctypes.get_errno()
        die(f"{what}: {os.strerror(code)}")


# The unit ------------------------------------------------------------------------------------

def read_unit(path):
    """[Service] as {key: [values in order]}; an empty assignment resets, as systemd's does."""
    settings, section = {}, None
    for raw in open(path):
        line = raw.strip()
        if not line or line[0] in "#;":
            continue
        if line.startswith("["):
            section = line
            continue
        if section != "[Service]":
            continue
        key, _, value = line.partition("=")
        key, value = key.strip(), value.strip()
        if key not in EMULATED and key not in NOT_EMULATED:
            die(UNKNOWN_MESSAGE.format(key=key, unit=path))
        if value == "" and key not in ("CapabilityBoundingSet", "AmbientCapabilities"):
            settings[key] = []
        else:
            settings.setdefault(key, []).append(value)
    return settings


def one(settings, key, default=None):
    values = settings.get(key) or []
    return values[-1] if values else default


def yes(settings, key):
    return (one(settings, key, "no") or "no").lower() in ("yes", "true", "1", "on")


def words(settings, key):
    return [word for value in settings.get(key, []) for word in value.split()]


def syscall_groups():
    """`systemd-analyze syscall-filter`: every @group and its members (names and @groups)."""
    output = subprocess.run(["systemd-analyze", "syscall-filter"], check=True, capture_output=True, text=True).stdout
    groups, current = {}, None
    for line in output.splitlines():
        if line.startswith("@"):
            current = groups.setdefault(line.strip(), [])
        elif line.startswith("#"):
            current = None  # "Unlisted system calls": in no group
        elif current is not None and line.strip() and not line.strip().startswith("#"):
            current.append(line.strip())
    return groups


def expand(name, groups):
    if not name.startswith("@"):
        return {name}
    return set().union(*(expand(member, groups) for member in groups[name]))


def allowed_syscalls(settings):
    """SystemCallFilter= lines in order: the first line decides allow- or deny-list (only allow-lists
    are supported here); a later `~` line removes its calls, a later plain line adds them back."""
    lines = settings.get("SystemCallFilter", [])
    if not lines:
        return None
    if lines[0].startswith("~"):
        die("SystemCallFilter= starting with a deny-list is not emulated")
    groups, allowed = syscall_groups(), set()
    for line in lines:
        deny = line.startswith("~")
        names = set().union(*(expand(name, groups) for name in line.lstrip("~").split()))
        allowed = allowed - names if deny else allowed | names
    return allowed


# The sandbox, in the child, before exec -------------------------------------------------------

def mount(source, target, fstype, flags, data=None):
    check(libc.mount(source and source.encode(), target.encode(), fstype and fstype.encode(), ctypes.c_ulong(flags),
                     data and data.encode()), f"mount {target}")


def mount_points():
    points = []
    for line in open("/proc/self/mountinfo"):
        fields = line.split()
        point = re.sub(r"\\([0-7]{3})", lambda m: chr(int(m.group(1), 8)), fields[4])
        options = fields[5].split(",")
        flags = sum(flag for name, flag in (("nosuid", MS_NOSUID), ("nodev", MS_NODEV), ("noexec", MS_NOEXEC),
                                             ("noatime", MS_NOATIME), ("nodiratime", MS_NODIRATIME), ("relatime", MS_RELATIME))
                    if name in options)
        points.append((point, flags))
    return points


def under(path, roots):
    return any(path == root or path.startswith(root.rstrip("/") + "/") for root in roots)


def read_only(roots=None, keep=()):
    """Remounts every mount (or those under `roots`) read-only, except `keep` and the API file systems."""
    for point, flags in mount_points():
        if under(point, keep) or (roots is None and under(point, ["/proc", "/sys", "/dev"])):
            continue
        if roots is not None and not under(point, roots):
            continue
        if libc.mount(None, point.encode(), None, ctypes.c_ulong(MS_REMOUNT | MS_BIND | MS_RDONLY | flags), None) != 0:
            code = ctypes.get_errno()
            if code not in (errno.EACCES, errno.ENOENT):  # a mount hidden under another
                die(f"read-only {point}: {os.strerror(code)}")


def inaccessible(path):
    """An empty, mode 000, read-only tmpfs over `path` (systemd binds its own inaccessible nodes)."""
    if os.path.isdir(path):
        mount("tmpfs", path, "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, "mode=000,size=4k")
        mount(None, path, None, MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC)


def private_devices():
    """A new /dev: the pseudo devices (null, zero, full, random, urandom, tty), /dev/pts, /dev/shm, the usual links."""
    staging = tempfile.mkdtemp(dir="/tmp")  # the private /tmp by now
    mount("tmpfs", staging, "tmpfs", MS_NOSUID | MS_NOEXEC | MS_STRICTATIME, "mode=755,size=4m")
    for name, (major, minor) in {"null": (1, 3), "zero": (1, 5), "full": (1, 7), "random": (1, 8),
                                 "urandom": (1, 9), "tty": (5, 0)}.items():
        os.mknod(f"{staging}/{name}", 0o666 | 0o020000, os.makedev(major, minor))
        os.chmod(f"{staging}/{name}", 0o666)
    for name in ("pts", "shm", "mqueue"):
        os.mkdir(f"{staging}/{name}")
        if os.path.isdir(f"/dev/{name}"):
            mount(f"/dev/{name}", f"{staging}/{name}", None, MS_BIND | MS_REC)
    os.chmod(f"{staging}/shm", 0o1777)
    for link, target in {"fd": "/proc/self/fd", "stdin": "/proc/self/fd/0", "stdout": "/proc/self/fd/1",
                         "stderr": "/proc/self/fd/2", "ptmx": "pts/ptmx"}.items():
        os.symlink(target, f"{staging}/{link}")
    mount(staging, "/dev", None, MS_MOVE)
    os.rmdir(staging)


def seccomp_filter(settings):
    allowed = allowed_syscalls(settings)
    restrict_families = [AF_NAMES[name] for name in words(settings, "RestrictAddressFamilies")]
    number = one(settings, "SystemCallErrorNumber")
    default = seccomp.ERRNO(getattr(errno, number)) if number else seccomp.KILL_PROCESS
    if allowed is None:
        if restrict_families:
            die("RestrictAddressFamilies= without SystemCallFilter= is not emulated")
        return None
    conditional = {}
    if restrict_families:
        conditional["socket"] = [[seccomp.Arg(0, seccomp.EQ, family)] for family in restrict_families]
    if yes(settings, "RestrictNamespaces"):
        for name in ("clone", "unshare"):
            conditional[name] = [[seccomp.Arg(0, seccomp.MASKED_EQ, NAMESPACE_FLAGS, 0)]]
        conditional["setns"] = []
    if yes(settings, "LockPersonality"):
        conditional["personality"] = [[seccomp.Arg(0, seccomp.EQ, 0)], [seccomp.Arg(0, seccomp.EQ, 0xffffffff)]]
    if yes(settings, "RestrictRealtime"):
        # SCHED_OTHER, SCHED_BATCH, SCHED_IDLE only, as systemd's seccomp_restrict_realtime.
        conditional["sched_setscheduler"] = [[seccomp.Arg(1, seccomp.EQ, policy)] for policy in (0, 3, 5)]
    if yes(settings, "RestrictSUIDSGID"):
        # A mode with S_ISUID/S_ISGID refused on chmod, mkdir, mknod and a creating open, as systemd's seccomp_restrict_suid_sgid.
        mode_only = {"chmod": 1, "fchmod": 1, "fchmodat": 2, "mkdir": 1, "mkdirat": 2, "mknod": 1, "mknodat": 2, "creat": 1}
        for name, argument in mode_only.items():
            conditional[name] = [[seccomp.Arg(argument, seccomp.MASKED_EQ, S_ISUID_ISGID, 0)]]
        for name, flags_argument in {"open": 1, "openat": 2}.items():
            conditional[name] = [[seccomp.Arg(flags_argument, seccomp.MASKED_EQ, os.O_CREAT, 0)],
                                 [seccomp.Arg(flags_argument + 1, seccomp.MASKED_EQ, S_ISUID_ISGID, 0)]]
    flt = seccomp.SyscallFilter(default)
    for name in sorted(allowed):
        try:
            if seccomp.resolve_syscall(seccomp.Arch.NATIVE, name) < 0:
                continue  # another architecture's call (a native-only filter refuses those anyway)
        except (ValueError, RuntimeError):
            continue  # unknown to this libseccomp
        if name not in conditional:
            flt.add_rule(seccomp.ALLOW, name)
            continue
        for conditions in conditional[name]:
            flt.add_rule(seccomp.ALLOW, name, *conditions)
    if yes(settings, "RestrictNamespaces") and "clone3" in allowed:
        flt.add_rule(seccomp.ERRNO(errno.ENOSYS), "clone3")  # its flags are in memory, out of a filter's reach: libc falls back to clone
    if yes(settings, "RestrictSUIDSGID") and "openat2" in allowed:
        flt.add_rule(seccomp.ERRNO(errno.ENOSYS), "openat2")
    return flt


def enter(settings, writable):
    """Everything the unit asks, in the forked child, up to but not including exec."""
    user = pwd.getpwnam(one(settings, "User", "root"))
    group = grp.getgrnam(one(settings, "Group")) if one(settings, "Group") else grp.getgrgid(user.pw_gid)
    groups = set(os.getgrouplist(user.pw_name, group.gr_gid)) | {grp.getgrnam(name).gr_gid for name in words(settings, "SupplementaryGroups")}
    last_cap = int(open("/proc/sys/kernel/cap_last_cap").read())
    os.setsid()
    check(libc.unshare(CLONE_NEWNS | (CLONE_NEWUTS if yes(settings, "ProtectHostname") else 0)), "unshare")
    mount(None, "/", None, MS_REC | MS_SLAVE)
    strict = one(settings, "ProtectSystem") == "strict"
    if strict:
        for path in writable:
            mount(path, path, None, MS_BIND | MS_REC)
        read_only(keep=writable)
    elif one(settings, "ProtectSystem"):
        die(f"ProtectSystem={one(settings, 'ProtectSystem')} is not emulated (only strict)")
    if yes(settings, "ProtectKernelTunables"):
        read_only(roots=["/sys"])
    elif yes(settings, "ProtectControlGroups"):
        read_only(roots=["/sys/fs/cgroup"])
    if yes(settings, "PrivateTmp"):
        for path in ("/tmp", "/var/tmp"):
            mount("tmpfs", path, "tmpfs", MS_NOSUID | MS_NODEV, "mode=1777")
    if yes(settings, "ProtectHome"):
        for path in ("/home", "/root", "/run/user"):
            inaccessible(path)
    if yes(settings, "ProtectKernelModules"):
        for path in sorted({os.path.realpath(p) for p in ("/lib/modules", "/usr/lib/modules") if os.path.isdir(p)}):
            inaccessible(path)
    if yes(settings, "PrivateDevices"):
        if not yes(settings, "PrivateTmp"):
            die("PrivateDevices= without PrivateTmp= is not emulated (the new /dev is made in the private /tmp)")
        private_devices()
    proc_options = []
    if one(settings, "ProtectProc") in ("invisible", "noaccess", "ptraceable"):
        proc_options.append(f"hidepid={one(settings, 'ProtectProc')}")
    if one(settings, "ProcSubset") == "pid":
        proc_options.append("subset=pid")
    if proc_options:
        mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, ",".join(proc_options))
    for key, limit in LIMITS.items():
        if one(settings, key):
            value = int(one(settings, key))
            try:
                resource.setrlimit(limit, (value, value))
            except (ValueError, OSError):
                # Raising a hard limit takes CAP_SYS_RESOURCE, which systemd has and this machine's root may not.
                print(f"sandbox.py: {key}={value} not applied: raising the hard limit {resource.getrlimit(limit)[1]} "
                      "needs CAP_SYS_RESOURCE, which this root lacks", file=sys.stderr)
    if one(settings, "Nice"):
        os.setpriority(os.PRIO_PROCESS, 0, int(one(settings, "Nice")))
    if one(settings, "UMask"):
        os.umask(int(one(settings, "UMask"), 8))
    if "CapabilityBoundingSet" in settings and words(settings, "CapabilityBoundingSet") == []:
        for capability in range(last_cap + 1):
            check(libc.prctl(PR_CAPBSET_DROP, capability, 0, 0, 0), f"drop capability {capability}")
    elif words(settings, "CapabilityBoundingSet"):
        die("only an empty CapabilityBoundingSet= is emulated")
    if words(settings, "AmbientCapabilities"):
        die("AmbientCapabilities= other than empty is not emulated")
    os.setgroups(sorted(groups))
    os.setresgid(group.gr_gid, group.gr_gid, group.gr_gid)
    os.setresuid(user.pw_uid, user.pw_uid, user.pw_uid)
    os.chdir("/")
    if yes(settings, "NoNewPrivileges") or "SystemCallFilter" in settings:
        check(libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0), "no_new_privs")
    if yes(settings, "MemoryDenyWriteExecute"):
        check(libc.prctl(PR_SET_MDWE, PR_MDWE_REFUSE_EXEC_GAIN, 0, 0, 0), "PR_SET_MDWE (kernel 6.3 or later)")
    flt = seccomp_filter(settings)
    if flt is not None:
        flt.load()  # last: nothing after it but the exec
    return user


def environment(settings, user, extra):
    """systemd's environment for a service: no inherited variable, the user's, the directories'."""
    env = {"PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "LANG": "C.UTF-8",
           "USER": user.pw_name, "LOGNAME": user.pw_name, "HOME": user.pw_dir, "SHELL": user.pw_shell}
    for key, base, variable in (("RuntimeDirectory", "/run", "RUNTIME_DIRECTORY"), ("StateDirectory", "/var/lib", "STATE_DIRECTORY"),
                                ("LogsDirectory", "/var/log", "LOGS_DIRECTORY")):
        if words(settings, key):
            env[variable] = ":".join(f"{base}/{name}" for name in words(settings, key))
    env.update(extra)
    return env


def command_line(value, mainpid=None):
    # Prefixes (-, @, +, !) are not used by our units; $MAINPID is ExecReload's.
    if value[:1] in "-@+!:":
        die(f"command prefix {value[0]} is not emulated: {value}")
    return [mainpid if word == "$MAINPID" else word for word in value.split()]


def spawn(settings, writable, argv, extra_env):
    pid = os.fork()
    if pid == 0:
        try:
            user = enter(settings, writable)
            os.execve(argv[0], argv, environment(settings, user, extra_env))
        except BaseException as error:  # noqa: BLE001 - the child must never return into the harness
            print(f"sandbox.py: {argv[0]}: {error}", file=sys.stderr)
        os._exit(127)
    return pid


def directories(settings):
    """The Runtime/State/Logs directories, made (or fixed) as systemd makes them before the start."""
    user = pwd.getpwnam(one(settings, "User", "root"))
    gid = grp.getgrnam(one(settings, "Group")).gr_gid if one(settings, "Group") else user.pw_gid
    made = []
    for key, base in (("RuntimeDirectory", "/run"), ("StateDirectory", "/var/lib"), ("LogsDirectory", "/var/log")):
        mode = int(one(settings, key + "Mode", "0755"), 8)
        for name in words(settings, key):
            path = f"{base}/{name}"
            os.makedirs(path, exist_ok=True)
            os.chown(path, user.pw_uid, gid)
            os.chmod(path, mode)
            made.append(path)
    writable = made + [path.lstrip("-") for path in words(settings, "ReadWritePaths")]
    return [path for path in writable if os.path.exists(path)]


def status_of(wait_status):
    return os.waitstatus_to_exitcode(wait_status)


# run and exec ----------------------------------------------------------------------------------

def run(unit, notify_log, pid_file):
    settings = read_unit(unit)
    writable = directories(settings)
    for pre in settings.get("ExecStartPre", []):
        _, wait_status = os.waitpid(spawn(settings, writable, command_line(pre), {}), 0)
        if status_of(wait_status) != 0:
            print(f"sandbox.py: ExecStartPre {pre} exited {status_of(wait_status)}", file=sys.stderr)
            return 1
    notify = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC)
    address = f"@jwt-allauth-sandbox-{os.getpid()}"
    notify.bind("\0" + address[1:])
    notify.setsockopt(socket.SOL_SOCKET, socket.SO_PASSCRED, 1)
    extra = {"NOTIFY_SOCKET": address} if one(settings, "Type") == "notify" else {}
    main = spawn(settings, writable, command_line(one(settings, "ExecStart")), extra)
    if pid_file:
        with open(pid_file, "w") as out:
            out.write(f"{main}\n")
    log = open(notify_log, "a", buffering=1)
    requests = []
    signal.signal(signal.SIGHUP, lambda *_: requests.append("reload"))
    signal.signal(signal.SIGTERM, lambda *_: requests.append("stop"))
    signal.signal(signal.SIGINT, lambda *_: requests.append("stop"))
    main_only = one(settings, "NotifyAccess", "main") == "main"
    stop_deadline, exit_code = None, None
    while exit_code is None:
        try:
            readable, _, _ = select.select([notify], [], [], 0.05)
        except InterruptedError:
            readable = []
        if readable:
            message, ancillary, _, _ = notify.recvmsg(4096, socket.CMSG_SPACE(12))
            sender = next((struct.unpack("3i", data)[0] for level, kind, data in ancillary
                           if level == socket.SOL_SOCKET and kind == socket.SCM_CREDENTIALS), None)
            verdict = "accepted" if sender == main or not main_only else "ignored"
            text = message.decode(errors="replace").strip().replace("\n", " | ")
            log.write(f"{time.monotonic():.6f} {sender} {verdict} {text}\n")
        while requests:
            request = requests.pop(0)
            if request == "reload" and settings.get("ExecReload") and stop_deadline is None:
                os.waitpid(spawn(settings, writable, command_line(one(settings, "ExecReload"), str(main)), {"MAINPID": str(main)}), 0)
            elif request == "stop" and stop_deadline is None:
                kill_signal = getattr(signal, one(settings, "KillSignal", "SIGTERM"))
                mode = one(settings, "KillMode", "control-group")
                if mode not in ("control-group", "mixed"):
                    die(f"KillMode={mode} is not emulated")
                # mixed: the main process alone; control-group: every process of the service at once.
                os.kill(main, kill_signal) if mode == "mixed" else os.killpg(main, kill_signal)
                stop_deadline = time.monotonic() + float(one(settings, "TimeoutStopSec", "90").rstrip("s"))
        pid, wait_status = os.waitpid(main, os.WNOHANG)
        if pid == main:
            exit_code = status_of(wait_status)
        elif stop_deadline is not None and time.monotonic() > stop_deadline:
            print("sandbox.py: stop timed out, SIGKILL to every process of the service", file=sys.stderr)
            os.killpg(main, signal.SIGKILL)
    # What systemd does once the main process has gone: kill what is left (KillMode=mixed and
    # control-group alike), and remove the RuntimeDirectory.
    try:
        os.killpg(main, signal.SIGKILL)
        print("sandbox.py: processes of the service were left after the main process exited; killed", file=sys.stderr)
    except ProcessLookupError:
        pass
    for name in words(settings, "RuntimeDirectory"):
        subprocess.run(["rm", "-rf", f"/run/{name}"], check=False)
    return exit_code


def exec_probe(unit, argv):
    settings = read_unit(unit)
    writable = directories(settings)
    _, wait_status = os.waitpid(spawn(settings, writable, argv, {}), 0)
    return status_of(wait_status)


def main():
    if os.geteuid() != 0:
        die("run as root")
    args = sys.argv[1:]
    if len(args) >= 2 and args[0] == "run":
        options = dict(zip(args[2::2], args[3::2]))
        if "--notify-log" not in options:
            die("run UNIT --notify-log FILE [--pid-file FILE]")
        sys.exit(run(args[1], options["--notify-log"], options.get("--pid-file")))
    if len(args) >= 4 and args[0] == "exec" and args[2] == "--":
        sys.exit(exec_probe(args[1], args[3:]))
    die(__doc__)


if __name__ == "__main__":
    main()
