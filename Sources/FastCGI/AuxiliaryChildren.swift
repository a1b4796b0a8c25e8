import Foundation
import Logging

#if canImport(Glibc)
import Glibc
#endif

/// Children of the master that are not FastCGI workers, such as the mail process: each runs its
/// own arguments, never receives the socket (stdin is /dev/null), is respawned with the workers'
/// backoff, restarted on reload and stopped with SIGTERM like a worker. What they do is not the
/// transport's business; the master only keeps them alive.
final class AuxiliaryChildren {
    private struct Running {
        var index: Int
        var startedAt: Date
    }

    private let executable: String
    private let logger: Logger
    private var specs: [Supervisor.Auxiliary] = []
    private var running: [pid_t: Running] = [:]
    private var pendingRespawns: [Int: Date] = [:]
    private var backoff = RespawnBackoff()
    private var stopping = false

    init(executable: String, logger: Logger) {
        self.executable = executable
        self.logger = logger
    }

    func start(_ auxiliaries: [Supervisor.Auxiliary]) {
        specs = auxiliaries
        stopping = false
        for index in specs.indices { spawn(index) }
    }

    /// Reload: the old children stop (bounded by `timeout`), then the new set starts.
    func replace(with auxiliaries: [Supervisor.Auxiliary], timeout: TimeInterval) {
        stop(timeout: timeout)
        start(auxiliaries)
    }

    /// Called by the master for every reaped pid that is not a worker; answers whether it was ours.
    @discardableResult
    func reaped(_ pid: pid_t, status: String) -> Bool {
        guard let child = running.removeValue(forKey: pid) else { return false }
        let name = specs.indices.contains(child.index) ? specs[child.index].name : "auxiliary"
        if stopping {
            logger.info("\(name) exited", metadata: ["pid": "\(pid)", "status": "\(status)"])
            return true
        }
        let livedFor = Date().timeIntervalSince(child.startedAt)
        logger.warning("\(name) died", metadata: ["pid": "\(pid)", "status": "\(status)", "uptime_s": "\(Int(livedFor))"])
        pendingRespawns[child.index] = Date().addingTimeInterval(backoff.delay(slot: child.index, livedFor: livedFor))
        return true
    }

    func respawnDue() {
        let now = Date()
        for (index, due) in pendingRespawns where due <= now {
            pendingRespawns.removeValue(forKey: index)
            spawn(index)
        }
    }

    /// SIGTERM to each, then wait up to `timeout` before SIGKILL; every one is reaped on return.
    func stop(timeout: TimeInterval) {
        stopping = true
        pendingRespawns = [:]
        for pid in running.keys { kill(pid, SIGTERM) }
        let deadline = Date().addingTimeInterval(timeout)
        while !running.isEmpty {
            for pid in Array(running.keys) {
                var status: Int32 = 0
                if waitpid(pid, &status, WNOHANG) == pid {
                    reaped(pid, status: Supervisor.describe(status: status))
                }
            }
            if running.isEmpty { break }
            if Date() > deadline {
                for pid in Array(running.keys) {
                    logger.warning("\(specs[running[pid]!.index].name) did not stop in time, killing it", metadata: ["pid": "\(pid)"])
                    kill(pid, SIGKILL)
                    var status: Int32 = 0
                    waitpid(pid, &status, 0)
                    reaped(pid, status: Supervisor.describe(status: status))
                }
                break
            }
            usleep(10_000)
        }
    }

    private func spawn(_ index: Int) {
        let spec = specs[index]
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)

        var pid: pid_t = 0
        let result = Supervisor.spawnChild(&pid, executable, spec.arguments, actions: &actions)
        guard result == 0 else {
            logger.error("cannot start \(spec.name)", metadata: ["error": "\(String(cString: strerror(result)))"])
            pendingRespawns[index] = Date().addingTimeInterval(backoff.delay(slot: index, livedFor: 0))
            return
        }
        running[pid] = Running(index: index, startedAt: Date())
        logger.info("\(spec.name) started", metadata: ["pid": "\(pid)"])
    }
}
