import ArgumentParser
import FastCGI
import Foundation
import JWTAllauth

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
        if !FileManager.default.fileExists(atPath: configPath) {
            guard let algorithm = Config.Algorithm.allCases.first(where: { $0.rawValue.lowercased() == self.algorithm.lowercased() }) else {
                throw ValidationError("--algorithm must be one of RS256, ES256, EdDSA, HS256")
            }
            var options = Deployment.Options(directory: root, domain: "localhost")
            options.algorithm = algorithm
            options.developmentPort = port
            try Deployment(options: options, share: share).write()
            print("created a local instance in \(root.path)")
        }
        let config = try Config.load(path: configPath)
        // A local directory made before MFA existed gets its TOTP key now, so any mode works at once.
        if !FileManager.default.fileExists(atPath: config.mfa.secretKey) {
            FileManager.default.createFile(atPath: config.mfa.secretKey, contents: Data(MFAKey.generate().utf8),
                                           attributes: [.posixPermissions: 0o600])
        }
        for sub in ["log", "mail", "run", "nginx-tmp"] {
            try FileManager.default.createDirectory(at: root.appendingPathComponent(sub), withIntermediateDirectories: true)
        }
        let nginxConf = root.appendingPathComponent("nginx.conf")
        let verifyCache = NginxVerifyCache(config.verify, path: root.appendingPathComponent("nginx-tmp/verify-cache").path)
        let authRequest = root.appendingPathComponent("nginx-auth-request.conf")
        try TemplateText.render(String(contentsOf: share.appendingPathComponent("nginx/auth-request.conf"), encoding: .utf8),
                                ["verify_cache": verifyCache.location]).write(to: authRequest, atomically: true, encoding: .utf8)
        let template = try String(contentsOf: share.appendingPathComponent("nginx/dev.conf.template"), encoding: .utf8)
        try TemplateText.render(template, [
            "nginx_workers": String(nginxWorkers), "var": root.path, "port": String(port), "socket": config.server.socket,
            "max_body": "64k", "user": String(cString: getpwuid(geteuid()).pointee.pw_name), "nginx_dir": share.appendingPathComponent("nginx").path, "credential_rate": credentialRate,
            "verify_cache_zone": verifyCache.zone, "auth_request": authRequest.path,
        ]).write(to: nginxConf, atomically: true, encoding: .utf8)

        let executable = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
        let serve = try spawn(executable, ["serve", "--config", configPath])
        defer { stop(serve, signal: SIGTERM) }
        // nginx connects lazily, but wait for the socket so the first request does not 502.
        let deadline = Date().addingTimeInterval(30)
        while !FileManager.default.fileExists(atPath: config.server.socket) && Date() < deadline { usleep(20_000) }
        // nginx's own unix socket (the protected demo app); a stale one from a killed run would block bind().
        unlink(root.appendingPathComponent("run/protected-app.sock").path)
        let nginxBinary = ["/usr/sbin/nginx", "/usr/local/sbin/nginx", "/usr/bin/nginx"].first { FileManager.default.isExecutableFile(atPath: $0) }
        guard let nginxBinary else { throw ValidationError("nginx is not installed (apt-get install nginx-light)") }
        let nginx = try spawn(nginxBinary, ["-p", root.path, "-c", nginxConf.path, "-e", root.appendingPathComponent("log/nginx-error.log").path])
        // QUIT: nginx finishes the requests it has, then exits.
        defer { stop(nginx, signal: SIGQUIT) }

        print("jwt-allauth is up: http://127.0.0.1:\(port)\(config.server.mount)/health/  (mail: \(config.mail.directory); Ctrl-C stops)")
        fflush(nil)
        while true {
            var signal: Int32 = 0
            sigwait(&stopSignals, &signal)
            if signal == SIGCHLD {
                var status: Int32 = 0
                let pid = waitpid(-1, &status, WNOHANG)
                if pid == serve || pid == nginx {
                    print("\(pid == serve ? "the worker pool" : "nginx") exited; stopping")
                    if pid == serve { stop(nginx, signal: SIGQUIT) } else { stop(serve, signal: SIGTERM) }
                    throw ExitCode(1)
                }
                continue
            }
            if signal == SIGHUP {
                // The master re-reads config.yaml and replaces its workers; nginx re-reads nginx.conf.
                print("reloading")
                fflush(nil)
                kill(serve, SIGHUP)
                kill(nginx, SIGHUP)
                continue
            }
            print("stopping")
            return
        }
    }

    private func spawn(_ path: String, _ arguments: [String]) throws -> pid_t {
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var emptyMask = sigset_t()
        sigemptyset(&emptyMask)
        posix_spawnattr_setsigmask(&attributes, &emptyMask)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK))
        let argv = ([path] + arguments).map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) } }
        var pid: pid_t = 0
        let result = posix_spawn(&pid, path, nil, &attributes, argv, environ)
        guard result == 0 else { throw ValidationError("cannot start \(path): \(String(cString: strerror(result)))") }
        return pid
    }

    /// Signals a child and waits for it (killing it after 20 s).
    private func stop(_ pid: pid_t, signal: Int32) {
        guard kill(pid, 0) == 0 else { return }
        kill(pid, signal)
        for _ in 0..<2000 {
            var status: Int32 = 0
            let result = waitpid(pid, &status, WNOHANG)
            if result == pid || result < 0 { return }
            usleep(10_000)
        }
        kill(pid, SIGKILL)
        var status: Int32 = 0
        waitpid(pid, &status, 0)
    }
}
