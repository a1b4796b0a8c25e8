import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// A process `dev` starts and must not outlive: nginx, or the worker pool. It runs in a process
/// group of its own, so that stopping it also ends what it started in turn (nginx's workers, the
/// pool's workers and mail process), even when it died or was killed before it could stop them.
final class ChildProcess {
    /// What the messages call it ("nginx", "the worker pool").
    let name: String
    let pid: pid_t
    /// Its wait status, once it has exited and been reaped.
    private(set) var status: Int32?

    init(_ name: String, path: String, arguments: [String]) throws {
        self.name = name
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var emptyMask = sigset_t()
        sigemptyset(&emptyMask)
        posix_spawnattr_setsigmask(&attributes, &emptyMask)
        // Group 0: a new group whose id is the child's pid.
        posix_spawnattr_setpgroup(&attributes, 0)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETPGROUP))
        let argv = ([path] + arguments).map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) } }
        var pid: pid_t = 0
        let result = posix_spawn(&pid, path, nil, &attributes, argv, environ)
        guard result == 0 else { throw SpawnFailed(path: path, errno: result) }
        self.pid = pid
    }

    struct SpawnFailed: Error, CustomStringConvertible {
        var path: String
        var errno: Int32
        var description: String { "cannot start \(path): \(String(cString: strerror(errno)))" }
    }

    /// False once it has exited (it is reaped then).
    var isRunning: Bool {
        guard status == nil else { return false }
        var waitStatus: Int32 = 0
        guard waitpid(pid, &waitStatus, WNOHANG) == pid else { return true }
        status = waitStatus
        return false
    }

    /// How it ended: `exit 1`, `signal 9`.
    var exitDescription: String {
        guard let status else { return "running" }
        return status & 0x7f == 0 ? "exit \((status >> 8) & 0xff)" : "signal \(status & 0x7f)"
    }

    /// Asks it to stop with `signal` and waits up to `timeout`; past that, SIGKILL to its whole
    /// group. Then SIGKILL to whatever of its group is left (a worker of an nginx master that was
    /// killed, or that died): nothing it started outlives it.
    func stop(_ signal: Int32, timeout: TimeInterval) {
        if isRunning {
            kill(pid, signal)
            let deadline = Date().addingTimeInterval(timeout)
            while isRunning && Date() < deadline { usleep(10_000) }
            if isRunning {
                kill(-pid, SIGKILL)
                var waitStatus: Int32 = 0
                waitpid(pid, &waitStatus, 0)
                status = waitStatus
            }
        }
        // Its pid names the group until the last member is gone, so this reaches only its own.
        kill(-pid, SIGKILL)
    }
}
