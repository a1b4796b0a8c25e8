import CFastCGI
import Foundation
import Logging

#if canImport(Glibc)
import Glibc
#endif

/// The master process of the worker pool, modelled on php-fpm's: owns the listening socket,
/// starts `workers` children of its own binary with `posix_spawn` (never a bare fork of a threaded
/// Swift process), respawns a child that dies, stops gracefully on SIGTERM/SIGINT and on SIGHUP
/// reloads its settings and replaces the children one by one. Under a service manager it says
/// when the pool is ready, reloading and stopping (`ServiceManagerNotifier`).
public final class Supervisor {
    /// What the master needs to know to run children; re-read on SIGHUP.
    public struct Settings: Sendable {
        public var workers: Int
        /// Arguments for the child (after the executable path), e.g. `["worker", "--config", path]`.
        public var childArguments: [String]
        /// How long a stopping child may take to finish its requests before it is killed.
        public var stopTimeout: TimeInterval
        /// Bytes every child can read from `Supervisor.inputFD` (the configuration the master
        /// validated), so a child that starts later never reads a file edited since.
        public var childInput: [UInt8]
        /// Children besides the workers (e.g. the mail process), kept alive the same way.
        public var auxiliaries: [Auxiliary]

        public init(workers: Int, childArguments: [String], stopTimeout: TimeInterval, childInput: [UInt8] = [],
                    auxiliaries: [Auxiliary] = []) {
            self.workers = workers
            self.childArguments = childArguments
            self.stopTimeout = stopTimeout
            self.childInput = childInput
            self.auxiliaries = auxiliaries
        }
    }

    /// A child that is not a worker: a name for the log and its arguments after the executable.
    public struct Auxiliary: Sendable, Equatable {
        public var name: String
        public var arguments: [String]

        public init(name: String, arguments: [String]) {
            self.name = name
            self.arguments = arguments
        }
    }

    /// The child's descriptor on which it reports readiness (one byte) once it is accepting.
    public static let readyFD: Int32 = 3
    /// The child's descriptor from which it reads `Settings.childInput` to end of file.
    public static let inputFD: Int32 = 4
    /// Set in each child's environment to its slot (`0..<workers`): a respawned child takes the
    /// place of the one that died, so per-slot state (e.g. counter files) carries on.
    public static let slotEnvironmentVariable = "FCGI_WORKER_SLOT"

    /// Called when a child died unexpectedly (not asked to stop), with its slot, before it is respawned.
    public var onUnexpectedExit: ((Int) -> Void)?
    /// Where readiness, reloads and the stop are reported (`Type=notify`); inactive by default.
    public var notifier = ServiceManagerNotifier(environment: [:])

    private struct Child {
        var slot: Int
        var startedAt: Date
        var retiring: Bool
        /// Reported on the readiness pipe that it accepts.
        var ready: Bool
        /// The settings it was started with: a reload starts a new generation.
        var generation: Int
    }

    private let socketPath: String
    private let socketMode: mode_t
    private let socketGroup: gid_t?
    private let logger: Logger
    private let reload: () throws -> Settings
    private var settings: Settings
    private var listenFD: Int32 = -1
    private var children: [pid_t: Child] = [:]
    /// Slots waiting for a respawn, with the earliest time it may happen.
    private var pendingRespawns: [Int: Date] = [:]
    private var backoff = RespawnBackoff()
    private let executable: String
    private let auxiliaries: AuxiliaryChildren
    private var generation = 0
    /// `READY=1` was sent for the current generation.
    private var announcedReady = false

    /// `socketGroup`: the group given the socket (nginx's, which the master must be a member of),
    /// or nil for the master's own.
    public init(socketPath: String, socketMode: mode_t, socketGroup: gid_t? = nil, settings: Settings, logger: Logger,
                reload: @escaping () throws -> Settings) {
        self.socketPath = socketPath
        self.socketMode = socketMode
        self.socketGroup = socketGroup
        self.settings = settings
        self.logger = logger
        self.reload = reload
        self.executable = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
        self.auxiliaries = AuxiliaryChildren(executable: executable, logger: logger)
    }

    /// Runs until SIGTERM or SIGINT; returns the process exit code.
    public func run() throws -> Int32 {
        var signals = Self.masterSignals()
        pthread_sigmask(SIG_BLOCK, &signals, nil)
        try openSocket()
        defer {
            close(listenFD)
            unlink(socketPath)
        }
        logger.info("master listening", metadata: ["socket": "\(socketPath)", "workers": "\(settings.workers)", "pid": "\(getpid())"])
        for slot in 0..<settings.workers {
            _ = spawn(slot: slot)
        }
        auxiliaries.start(settings.auxiliaries)
        announceReadyOnceEveryWorkerAccepts()
        while true {
            var timeout = timespec(tv_sec: 0, tv_nsec: 100_000_000)
            let signal = sigtimedwait(&signals, nil, &timeout)
            switch signal {
            case SIGCHLD:
                reapChildren()
            case SIGTERM, SIGINT:
                notifier.stopping()
                logger.info("master stopping", metadata: ["signal": "\(signal == SIGTERM ? "TERM" : "INT")"])
                auxiliaries.stop(timeout: settings.stopTimeout)
                stopAll()
                logger.info("master stopped")
                return 0
            case SIGHUP:
                reloadAndReplace()
            default:
                break
            }
            respawnDue()
            auxiliaries.respawnDue()
            announceReadyOnceEveryWorkerAccepts()
        }
    }

    /// `READY=1` once every slot has a child of the current generation that reported it accepts,
    /// so a manager that waits for it (systemd's `Type=notify`, and nginx ordered after it) never
    /// sends traffic to a pool still starting; a worker that dies first delays it until its respawn does.
    private func announceReadyOnceEveryWorkerAccepts() {
        guard !announcedReady, notifier.isActive else { return }
        let readySlots = Set(children.values.filter { $0.ready && !$0.retiring && $0.generation == generation }.map(\.slot))
        guard readySlots.count >= settings.workers else { return }
        announcedReady = true
        notifier.ready(status: "\(settings.workers) worker(s) accepting on \(socketPath)")
    }

    // MARK: socket

    private func openSocket() throws {
        var info = stat()
        if lstat(socketPath, &info) == 0 {
            // A socket left by a crashed master; anything else at that path is not ours to delete.
            guard (info.st_mode & S_IFMT) == S_IFSOCK else {
                throw FastCGIError.openSocketFailed(path: socketPath, errno: EEXIST)
            }
            unlink(socketPath)
        }
        // FCGX_OpenSocket creates the socket with the process umask; narrow it until chmod below.
        let oldMask = umask(0o077)
        // A deep backlog: connections wait in it while a child is being replaced (a backlog of 1
        // turned most answers into 502s in our probe).
        listenFD = FCGX_OpenSocket(socketPath, 1024)
        umask(oldMask)
        guard listenFD >= 0 else { throw FastCGIError.openSocketFailed(path: socketPath, errno: errno) }
        // The group first, then the mode that opens the socket to it.
        if let socketGroup, chown(socketPath, uid_t.max, socketGroup) != 0 {
            let code = errno
            close(listenFD)
            unlink(socketPath)
            throw FastCGIError.socketGroupFailed(path: socketPath, group: socketGroup, errno: code)
        }
        chmod(socketPath, socketMode)
        // Children get the socket as fd 0 via dup2; the original must not leak into them.
        _ = fcntl(listenFD, F_SETFD, FD_CLOEXEC)
    }

    // MARK: children

    /// Starts one child in `slot` and waits until it reports that it accepts (or dies).
    private func spawn(slot: Int) -> pid_t? {
        guard let pipeFDs = closeOnExecPipe("readiness") else {
            pendingRespawns[slot] = Date().addingTimeInterval(1)
            return nil
        }
        defer { close(pipeFDs[0]) }
        guard let inputRead = writeInputPipe() else {
            close(pipeFDs[1])
            scheduleRespawn(slot: slot, livedFor: 0)
            return nil
        }
        defer { close(inputRead) }

        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_adddup2(&actions, listenFD, FastCGIServer<Void>.listenSocketFD)
        posix_spawn_file_actions_adddup2(&actions, pipeFDs[1], Self.readyFD)
        posix_spawn_file_actions_adddup2(&actions, inputRead, Self.inputFD)

        var pid: pid_t = 0
        let result = Self.spawnChild(&pid, executable, settings.childArguments, actions: &actions,
                                     environment: ["\(Self.slotEnvironmentVariable)=\(slot)"])
        close(pipeFDs[1])
        guard result == 0 else {
            logger.error("cannot start worker", metadata: ["slot": "\(slot)", "error": "\(String(cString: strerror(result)))"])
            scheduleRespawn(slot: slot, livedFor: 0)
            return nil
        }
        children[pid] = Child(slot: slot, startedAt: Date(), retiring: false, ready: false, generation: generation)

        var poller = pollfd(fd: pipeFDs[0], events: Int16(POLLIN), revents: 0)
        var byte: UInt8 = 0
        let ready = poll(&poller, 1, 30_000) == 1 && read(pipeFDs[0], &byte, 1) == 1
        if ready {
            children[pid]?.ready = true
            logger.info("worker started", metadata: ["slot": "\(slot)", "pid": "\(pid)"])
        } else {
            logger.error("worker did not become ready", metadata: ["slot": "\(slot)", "pid": "\(pid)"])
        }
        return pid
    }

    /// A pipe whose ends close on exec: only the copies dup2'd to fds 3 and 4 reach a child.
    private func closeOnExecPipe(_ purpose: String) -> [Int32]? {
        var fds: [Int32] = [-1, -1]
        guard pipe(&fds) == 0 else {
            logger.error("cannot create \(purpose) pipe", metadata: ["errno": "\(errno)"])
            return nil
        }
        _ = fcntl(fds[0], F_SETFD, FD_CLOEXEC)
        _ = fcntl(fds[1], F_SETFD, FD_CLOEXEC)
        return fds
    }

    /// A pipe already holding `childInput` (closed for writing); answers its read end.
    private func writeInputPipe() -> Int32? {
        guard let fds = closeOnExecPipe("configuration") else { return nil }
        defer { close(fds[1]) }
        // A pipe holds 64 KiB without a reader; a configuration with its keys is far smaller, and
        // a larger one gets a larger pipe (up to /proc/sys/fs/pipe-max-size, 1 MiB by default).
        // F_SETPIPE_SZ and F_GETPIPE_SZ (1031, 1032) are Linux's and not in Swift's Glibc module.
        if settings.childInput.count >= 65536 { _ = fcntl(fds[1], 1031, Int32(clamping: settings.childInput.count + 1)) }
        guard settings.childInput.count < Int(fcntl(fds[1], 1032)) else {
            logger.error("child input too large for a pipe", metadata: ["bytes": "\(settings.childInput.count)"])
            close(fds[0])
            return nil
        }
        var offset = 0
        while offset < settings.childInput.count {
            let written = settings.childInput[offset...].withUnsafeBytes { write(fds[1], $0.baseAddress, $0.count) }
            guard written > 0 else { close(fds[0]); return nil }
            offset += written
        }
        return fds[0]
    }

    private func reapChildren() {
        while true {
            var status: Int32 = 0
            let pid = waitpid(-1, &status, WNOHANG)
            guard pid > 0 else { return }
            guard let child = children.removeValue(forKey: pid) else {
                auxiliaries.reaped(pid, status: Self.describe(status: status))
                continue
            }
            let livedFor = Date().timeIntervalSince(child.startedAt)
            let how = Self.describe(status: status)
            if child.retiring {
                logger.info("worker exited", metadata: ["slot": "\(child.slot)", "pid": "\(pid)", "status": "\(how)"])
                continue
            }
            logger.warning("worker died", metadata: ["slot": "\(child.slot)", "pid": "\(pid)", "status": "\(how)", "uptime_s": "\(Int(livedFor))"])
            onUnexpectedExit?(child.slot)
            if child.slot < settings.workers {
                scheduleRespawn(slot: child.slot, livedFor: livedFor)
            }
        }
    }

    /// See `RespawnBackoff`: at once, then with a growing delay for a child that keeps dying young.
    private func scheduleRespawn(slot: Int, livedFor: TimeInterval) {
        pendingRespawns[slot] = Date().addingTimeInterval(backoff.delay(slot: slot, livedFor: livedFor))
    }

    private func respawnDue() {
        let now = Date()
        for (slot, due) in pendingRespawns where due <= now {
            pendingRespawns.removeValue(forKey: slot)
            _ = spawn(slot: slot)
        }
    }

    /// SIGHUP: read the settings again; if they are valid, start the new children first, so there
    /// is always a child accepting on the socket, then stop the old ones together. A stopping
    /// child drains the connections nginx keeps to it (up to nginx's upstream keepalive_timeout),
    /// so waiting for them one by one would make a reload last that long per child.
    /// The manager hears `RELOADING=1` at once and `READY=1` when the new workers accept (or the
    /// reload is refused), before the old ones have drained: from then on every new request meets
    /// the new configuration.
    /// A reload before the pool was first ready says nothing: the first `READY=1` is still to come.
    private func reloadAndReplace() {
        let wasReady = announcedReady
        if wasReady { notifier.reloading() }
        let newSettings: Settings
        do {
            newSettings = try reload()
        } catch {
            logger.error("reload refused, keeping the running configuration", metadata: ["error": "\(error)"])
            if wasReady { notifier.ready(status: "reload refused, running the previous configuration: \(error)") }
            return
        }
        logger.info("reloading", metadata: ["workers": "\(newSettings.workers)"])
        let oldChildren = Array(children.keys)
        settings = newSettings
        pendingRespawns = [:]
        generation += 1
        announcedReady = false
        for slot in 0..<settings.workers {
            _ = spawn(slot: slot)
        }
        announceReadyOnceEveryWorkerAccepts()
        retire(oldChildren)
        auxiliaries.replace(with: settings.auxiliaries, timeout: settings.stopTimeout)
    }

    /// Asks children to stop gracefully and waits for them (killing any left at the stop timeout).
    private func retire(_ pids: [pid_t]) {
        for pid in pids {
            children[pid]?.retiring = true
            kill(pid, SIGTERM)
        }
        waitForExit(of: pids)
    }

    private func stopAll() {
        pendingRespawns = [:]
        retire(Array(children.keys))
    }

    private func waitForExit(of pids: [pid_t]) {
        let deadline = Date().addingTimeInterval(settings.stopTimeout)
        var remaining = Set(pids)
        while !remaining.isEmpty {
            reapChildren()
            remaining = remaining.filter { children[$0] != nil }
            if remaining.isEmpty { break }
            if Date() > deadline {
                for pid in remaining {
                    logger.warning("worker did not stop in time, killing it", metadata: ["pid": "\(pid)"])
                    kill(pid, SIGKILL)
                }
                // SIGKILL cannot be ignored; collect them.
                for pid in remaining {
                    var status: Int32 = 0
                    waitpid(pid, &status, 0)
                    children.removeValue(forKey: pid)
                }
                break
            }
            usleep(10_000)
        }
    }

    /// posix_spawn of `executable` with a clean signal state: an empty mask and the master's signals
    /// back to their defaults (the master blocks them for sigtimedwait). Answers 0 or an errno.
    /// `environment`: `NAME=value` entries set in the child, replacing inherited ones of the same name.
    static func spawnChild(_ pid: inout pid_t, _ executable: String, _ arguments: [String],
                           actions: inout posix_spawn_file_actions_t, environment: [String] = []) -> Int32 {
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var emptyMask = sigset_t()
        sigemptyset(&emptyMask)
        var defaults = masterSignals()
        posix_spawnattr_setsigmask(&attributes, &emptyMask)
        posix_spawnattr_setsigdefault(&attributes, &defaults)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))
        let argv = ([executable] + arguments).map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) } }
        let overridden = Set(environment.map { $0.prefix { $0 != "=" } })
        var envp: [UnsafeMutablePointer<CChar>?] = environment.map { strdup($0) }
        var inherited = environ
        while let entry = inherited.pointee {
            if !overridden.contains(String(cString: entry).prefix { $0 != "=" }) { envp.append(strdup(entry)) }
            inherited += 1
        }
        envp.append(nil)
        defer { envp.forEach { free($0) } }
        return posix_spawn(&pid, executable, &actions, &attributes, argv, envp)
    }

    private static func masterSignals() -> sigset_t {
        var set = sigset_t()
        sigemptyset(&set)
        for signal in [SIGCHLD, SIGTERM, SIGINT, SIGHUP] { sigaddset(&set, signal) }
        return set
    }

    static func describe(status: Int32) -> String {
        let signal = status & 0x7f
        if signal == 0 { return "exit \((status >> 8) & 0xff)" }
        return "signal \(signal)"
    }
}
