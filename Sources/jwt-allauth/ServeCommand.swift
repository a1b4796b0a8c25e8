import AllauthDomain
import AllauthHTTP
import AllauthRuntime
import ArgumentParser
import FastCGI
import Foundation
import Logging

#if canImport(Glibc)
import Glibc
#endif

struct ServeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Run the worker pool: a master that owns the FastCGI socket and supervises the workers.",
        discussion: "SIGTERM/SIGINT stop gracefully; SIGHUP re-reads the configuration and replaces the workers one by one."
    )
    @OptionGroup var options: ConfigOption

    func run() throws {
        // First, before any thread or child exists: the workers must not inherit it.
        let notifier = ServiceManagerNotifier.takeFromEnvironment()
        let path = options.path
        let text = try Config.readText(path: path)
        let config = try options.load(text: text)
        let logger = makeLogger("jwt-allauth.master", level: config.logLevel)
        // One pool per socket, taken before anything else: a second `serve` would replace the
        // first's socket under nginx and delete it when it stops.
        try FileManager.default.createDirectory(
            atPath: URL(fileURLWithPath: config.server.socket).deletingLastPathComponent().path, withIntermediateDirectories: true)
        _ = try InstanceLock(config.server.socket + ".lock", holder: "jwt-allauth serve (pid \(getpid()), --config \(path))",
                             what: config.server.socket, advice: "stop it first, or give this pool its own server.socket")
        let keyFiles = try Self.readKeys(config)
        _ = try TemplateLibrary(config.templates)
        _ = try openMigrated(config)
        // Workers read it at start; a missing file must stop the master, not loop the workers.
        _ = try PasswordPolicy.commonPasswords(in: ShareDirectory.locate())
        // The mail process reads the same settings: a missing password file stops the start here.
        _ = try MailTransports.make(config.mail, stop: StopFlag())
        _ = try SecurityLog.open(path: config.securityEventsPath)  // a bad path stops here, not in every worker
        // A new pool counts from zero; the master counts the worker restarts in its own file.
        let metricsDirectory = MetricsDirectory(socket: config.server.socket)
        try metricsDirectory.reset()
        let masterMetrics = metricsDirectory.recorder(name: "master", routes: []) { error in
            logger.error("metrics: cannot count worker restarts", metadata: ["error": "\(error)"])
        }
        let supervisor = Supervisor(
            socketPath: config.server.socket, socketMode: mode_t(config.server.socketMode), socketGroup: config.server.socketGroup,
            settings: Self.settings(config, path: path, text: text, keyFiles: keyFiles), logger: logger
        ) {
            // A reload must not break a running service: validate everything first.
            let freshText = try Config.readText(path: path)
            let fresh = try Config.load(path: path, text: freshText)
            let freshKeyFiles = try Self.readKeys(fresh)
            _ = try TemplateLibrary(fresh.templates)
            _ = try openMigrated(fresh)
            _ = try MailTransports.make(fresh.mail, stop: StopFlag())
            if fresh.server.socket != config.server.socket || fresh.server.socketGroup != config.server.socketGroup {
                logger.warning("server.socket or server.socket_group changed; they take effect at the next restart, not on reload")
            }
            return Self.settings(fresh, path: path, text: freshText, keyFiles: freshKeyFiles)
        }
        supervisor.onUnexpectedExit = { _ in masterMetrics.count(.workerRestarts) }
        supervisor.notifier = notifier
        Foundation.exit(try supervisor.run())
    }

    /// Loads the keys as a worker will (so a bad key stops the master, not every worker) and
    /// answers the files read for it.
    static func readKeys(_ config: Config) throws -> KeyFiles.Record {
        let files = KeyFiles()
        _ = try KeySet.load(config.tokens, files: files)
        _ = try MFAKey.load(config.mfa, files: files)
        return files.recorded
    }

    /// Children get the configuration text and the key files the master validated (`WorkerInput`
    /// on `Supervisor.inputFD`), not the files as they may be when they start: a file edited since,
    /// or a key `rotate-key` wrote, is only read on SIGHUP, so every worker of one generation signs
    /// and verifies alike, a respawned one too.
    static func settings(_ config: Config, path: String, text: String, keyFiles: KeyFiles.Record) -> Supervisor.Settings {
        // Encoding a String and Data-valued dictionaries cannot fail.
        let input = (try? JSONEncoder().encode(WorkerInput(config: text, keyFiles: keyFiles))).map(Array.init) ?? []
        return Supervisor.Settings(
            workers: config.server.workers,
            childArguments: ["worker", "--config", path, "--ready-fd", String(Supervisor.readyFD), "--config-fd", String(Supervisor.inputFD)],
            stopTimeout: config.server.stopTimeout, childInput: input,
            auxiliaries: [.init(name: "mailer", arguments: ["mailer", "--config", path])])
    }
}

struct WorkerCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "worker",
        abstract: "One worker: accept FastCGI requests on fd 0 (started by `serve`, or by spawn-fcgi / systemd).",
        shouldDisplay: false
    )
    @OptionGroup var options: ConfigOption
    @Option(help: "Write one byte to this descriptor once accepting (used by `serve`).")
    var readyFD: Int32?
    @Option(help: "Read the configuration and key files from this descriptor instead of the disk (used by `serve`).")
    var configFD: Int32?

    func run() throws {
        // Block the stop signals before any thread exists, so only the sigwait below receives them.
        var stopSignals = sigset_t()
        sigemptyset(&stopSignals)
        for signal in [SIGTERM, SIGINT, SIGHUP] { sigaddset(&stopSignals, signal) }
        pthread_sigmask(SIG_BLOCK, &stopSignals, nil)

        let input = try configFD.map { fd in try JSONDecoder().decode(WorkerInput.self, from: Self.readAll(fd)) }
        let config = try input.map { try options.load(text: $0.config) } ?? options.load()
        // From the master: the keys it read; started alone (spawn-fcgi): the disk.
        let keyFiles = input.map { KeyFiles(replaying: $0.keyFiles) } ?? KeyFiles()
        let logger = makeLogger("jwt-allauth.worker", level: config.logLevel)
        // Started by `serve`: the slot names the counter file; otherwise (spawn-fcgi) the pid does.
        let slot = ProcessInfo.processInfo.environment[Supervisor.slotEnvironmentVariable].map { "worker-\($0)" } ?? "worker-pid\(getpid())"
        let service = Service(config: config, keys: try KeySet.load(config.tokens, files: keyFiles), templates: try TemplateLibrary(config.templates), logger: logger,
                              commonPasswords: try PasswordPolicy.commonPasswords(in: ShareDirectory.locate()),
                              securityLog: try SecurityLog.open(path: config.securityEventsPath),
                              metrics: (MetricsDirectory(socket: config.server.socket), slot),
                              mfaKey: try MFAKey.load(config.mfa, files: keyFiles))
        // A request thread about to block for long (hashing, a provider, a stuck lock) hands its
        // turn to another thread.
        Blocking.handler = { FastCGIServer<ThreadState>.yieldTurn() }
        let server = FastCGIServer<ThreadState>(
            threads: config.server.threads, runningThreads: config.server.runningThreads, maxBodyBytes: config.server.maxBodyBytes, logger: logger,
            makeState: { try service.makeThreadState() },
            handler: { request, connection in service.handle(request, connection) })
        try server.start()
        let parent = getppid()
        if let readyFD {
            var byte: UInt8 = 0x52
            _ = write(readyFD, &byte, 1)
            close(readyFD)
        }
        while true {
            var timeout = timespec(tv_sec: 1, tv_nsec: 0)
            let signal = sigtimedwait(&stopSignals, nil, &timeout)
            if signal == SIGTERM || signal == SIGINT { break }
            // Started by our master and the master is gone: don't linger as an orphan.
            if readyFD != nil && getppid() != parent {
                logger.warning("master went away, stopping")
                break
            }
        }
        if !server.shutdown(timeout: config.server.stopTimeout) {
            logger.warning("requests still running at the stop timeout")
        }
        Foundation.exit(0)
    }

    private static func readAll(_ fd: Int32) -> Data {
        var bytes: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let count = read(fd, &buffer, buffer.count)
            if count <= 0 { break }
            bytes.append(contentsOf: buffer[0..<count])
        }
        close(fd)
        return Data(bytes)
    }
}

/// What `serve` hands each worker on `Supervisor.inputFD`: the configuration text and the key
/// files (`KeyFiles`) of its generation.
struct WorkerInput: Codable {
    var config: String
    var keyFiles: KeyFiles.Record
}
