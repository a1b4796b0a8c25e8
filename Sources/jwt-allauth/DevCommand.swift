import AllauthDomain
import AllauthRuntime
import ArgumentParser
import FastCGI
import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// `make run`: a complete local instance — real nginx on a loopback port in front of the worker
/// pool, SQLite and a mail directory — in the foreground until Ctrl-C or SIGTERM; SIGHUP reloads.
struct DevCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dev",
        abstract: "Run a local instance: nginx on 127.0.0.1:PORT, the worker pool, SQLite, mail as .eml files.",
        discussion: "Creates DIR (config, keys, database) on first use and keeps it afterwards.")

    @Option(help: "The instance directory.") var dir = "var"
    @Option(help: "The loopback port nginx listens on.") var port: Int = Int(ProcessInfo.processInfo.environment["PORT"] ?? "") ?? 8080
    @Option(help: "Access-token signature for a new instance.") var algorithm = "RS256"
    @Option(help: "nginx worker processes.") var nginxWorkers = 1
    @Option(help: "nginx's rate for the credential endpoints (e.g. 5r/s).") var credentialRate = "5r/s"

    func validate() throws { _ = try tokenAlgorithm(algorithm) }

    func run() throws {
        // Every signal that would otherwise end this process by default is handled here, so that
        // nginx and the pool never outlive it: HUP (a closed terminal) reloads, like `serve`.
        var stopSignals = sigset_t()
        sigemptyset(&stopSignals)
        for signal in [SIGTERM, SIGINT, SIGQUIT, SIGHUP, SIGCHLD] { sigaddset(&stopSignals, signal) }
        pthread_sigmask(SIG_BLOCK, &stopSignals, nil)

        let share = try ShareDirectory.locate()
        let root = URL(fileURLWithPath: dir).standardizedFileURL
        let configPath = root.appendingPathComponent("config.yaml").path
        // One dev per directory: a second one would take over the first's socket and database.
        try FileManager.default.createDirectory(at: root.appendingPathComponent("run"), withIntermediateDirectories: true)
        _ = try InstanceLock(root.appendingPathComponent("run/dev.lock").path,
                             holder: "jwt-allauth dev (pid \(getpid()), http://127.0.0.1:\(port))",
                             what: "the instance directory \(root.path)",
                             advice: "stop it first (Ctrl-C where it runs), or give this one its own --dir")
        // And one program per port: nginx could not bind it, and health/ would answer from the other one.
        guard !InstanceLock.portInUse(port) else {
            throw InstanceLock.Held(what: "127.0.0.1:\(port)", holder: "", advice: "stop it, or choose another port (PORT=\(port + 1) make run)")
        }
        if !FileManager.default.fileExists(atPath: configPath) {
            var options = Deployment.Options(directory: root, domain: "localhost")
            options.algorithm = try tokenAlgorithm(algorithm)
            options.developmentPort = port
            try Deployment(options: options, share: share).write()
            print("created a local instance in \(root.path)")
        }
        try Self.followPort(port, configPath: configPath)
        let config = try Config.load(path: configPath)
        // A local directory made before MFA existed gets its TOTP key now, so any mode works at once.
        if !FileManager.default.fileExists(atPath: config.mfa.secretKey) {
            _ = FileManager.default.createFile(atPath: config.mfa.secretKey, contents: Data(MFAKey.generate().utf8),
                                               attributes: [.posixPermissions: 0o600])
        }
        for sub in ["log", "mail", "nginx-tmp"] {  // run/ is made before the lock
            try FileManager.default.createDirectory(at: root.appendingPathComponent(sub), withIntermediateDirectories: true)
        }
        let nginxConf = root.appendingPathComponent("nginx.conf")
        let instance = UUID().uuidString
        let verifyCache = NginxVerifyCache(config.verify, path: root.appendingPathComponent("nginx-tmp/verify-cache").path)
        let authRequest = root.appendingPathComponent("nginx-auth-request.conf")
        try TemplateText.render(String(contentsOf: share.appendingPathComponent("nginx/auth-request.conf"), encoding: .utf8),
                                ["verify_cache": verifyCache.location]).write(to: authRequest, atomically: true, encoding: .utf8)
        let template = try String(contentsOf: share.appendingPathComponent("nginx/dev.conf.template"), encoding: .utf8)
        try TemplateText.render(template, [
            "nginx_workers": String(nginxWorkers), "var": root.path, "port": String(port), "socket": config.server.socket,
            "max_body": "64k", "user": String(cString: getpwuid(geteuid()).pointee.pw_name), "nginx_dir": share.appendingPathComponent("nginx").path, "credential_rate": credentialRate,
            "verify_cache_zone": verifyCache.zone, "auth_request": authRequest.path, "instance": instance,
        ]).write(to: nginxConf, atomically: true, encoding: .utf8)

        // Before anything starts: a missing nginx must not leave a pool behind.
        guard let nginxBinary = installedNginx() else { throw CommandFailure("nginx is not installed (apt-get install nginx-light)") }
        let executable = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]

        let startDeadline = Date().addingTimeInterval(Self.startTimeout)
        let pool = try ChildProcess("the worker pool", path: executable, arguments: ["serve", "--config", configPath])
        var nginx: ChildProcess?
        // Until it is up nginx serves nothing, and it may not have seen a signal sent while it was starting.
        var nginxStopTimeout: TimeInterval = 3
        // However dev ends (stopped, a failed start, an error), nothing it started outlives it.
        defer {
            // QUIT: nginx finishes the requests it has, then exits.
            nginx?.stop(SIGQUIT, timeout: nginxStopTimeout)
            pool.stop(SIGTERM, timeout: 20)
        }

        /// Waits until `ready`, until `startDeadline` at most; a child that exits, or a stop signal, ends the start.
        func waitForStart(_ what: () -> String, until ready: () -> Bool) throws {
            while !ready() {
                for child in [pool] + (nginx.map { [$0] } ?? []) where !child.isRunning {
                    throw startFailed("\(child.name) exited (\(child.exitDescription)) before the instance was up")
                }
                guard Date() < startDeadline else { throw startFailed("\(what()) within \(Int(Self.startTimeout)) s") }
                var wait = timespec(tv_sec: 0, tv_nsec: 50_000_000)
                let signal = sigtimedwait(&stopSignals, nil, &wait)
                if [SIGTERM, SIGINT, SIGQUIT].contains(signal) { throw startFailed("a stop signal came before the instance was up") }
            }
        }

        // The master opens the socket once the configuration, keys and database have passed its checks.
        try waitForStart({ "the worker pool did not open \(config.server.socket)" }) {
            FileManager.default.fileExists(atPath: config.server.socket)
        }
        // nginx's own unix socket (the protected demo app); a stale one from a killed run would block bind().
        unlink(root.appendingPathComponent("run/protected-app.sock").path)
        nginx = try ChildProcess("nginx", path: nginxBinary,
                                 arguments: ["-p", root.path, "-c", nginxConf.path, "-e", root.appendingPathComponent("log/nginx-error.log").path])
        // Up means a request through this nginx (its instance location answers this start's
        // nonce) reached a worker that read the database.
        let ownNginx = HealthProbe(port: port, path: "/_jwt_allauth_dev_instance")
        let health = HealthProbe(port: port, path: "\(config.server.mount)/health/")
        var lastAnswer: Int?
        try waitForStart({ "health/ did not answer 200 through nginx (last answer: \(lastAnswer.map(String.init) ?? "none"))" }) {
            guard ownNginx.get()?.body == instance else { return false }
            lastAnswer = health.get()?.status
            return lastAnswer == 200
        }
        nginxStopTimeout = 20

        print("jwt-allauth is up: http://127.0.0.1:\(port)\(config.server.mount)/health/  (mail: \(config.mail.directory); Ctrl-C stops)")
        fflush(nil)
        while true {
            var signal: Int32 = 0
            sigwait(&stopSignals, &signal)
            if signal == SIGCHLD {
                for child in [pool, nginx].compactMap({ $0 }) where !child.isRunning {
                    print("\(child.name) exited (\(child.exitDescription)); stopping")
                    fflush(nil)
                    throw ExitCode(1)
                }
                continue
            }
            if signal == SIGHUP {
                // The master re-reads config.yaml and replaces its workers; nginx re-reads nginx.conf.
                print("reloading")
                fflush(nil)
                kill(pool.pid, SIGHUP)
                if let nginx { kill(nginx.pid, SIGHUP) }
                continue
            }
            print("stopping")
            fflush(nil)
            return
        }
    }

    /// The local instance's public URL (mail links) and browser origin follow `--port` at every
    /// start: `config.yaml` lines that still hold what `dev` wrote for another port
    /// (`http://127.0.0.1:N`, `["http://localhost:N"]`) are rewritten; a value the user set stays,
    /// and `JWT_ALLAUTH_SERVER_PUBLIC_URL` / `JWT_ALLAUTH_COOKIES_ALLOWED_ORIGINS` win over both.
    static func followPort(_ port: Int, configPath: String) throws {
        guard let text = try? String(contentsOfFile: configPath, encoding: .utf8) else { return }
        let rules = [
            (#"(?m)^(  public_url: )http://127\.0\.0\.1:\d+(?=\s*(#.*)?$)"#, "$1http://127.0.0.1:\(port)"),
            (#"(?m)^(  allowed_origins: )\["http://localhost:\d+"\](?=\s*(#.*)?$)"#, "$1[\"http://localhost:\(port)\"]"),
        ]
        var followed = text
        for (pattern, template) in rules {
            let expression = try NSRegularExpression(pattern: pattern)
            followed = expression.stringByReplacingMatches(
                in: followed, range: NSRange(followed.startIndex..., in: followed), withTemplate: template)
        }
        guard followed != text else { return }
        // In place, so the file keeps its mode (0640) and owner.
        let handle = try FileHandle(forUpdating: URL(fileURLWithPath: configPath))
        defer { try? handle.close() }
        try handle.truncate(atOffset: 0)
        try handle.write(contentsOf: Data(followed.utf8))
        print("port \(port): public_url and allowed_origins in \(configPath) follow it")
    }

    /// How long the pool and nginx have, together, to answer health/ before the start has failed.
    static let startTimeout: TimeInterval = 60

    /// Says why the start failed (the child's own error is already above) and makes dev exit 1; the
    /// caller's defer then stops what was started.
    private func startFailed(_ reason: String) -> ExitCode {
        fflush(nil)
        FileHandle.standardError.write(Data("jwt-allauth dev: \(reason); stopping what it started\n".utf8))
        return ExitCode(1)
    }
}
