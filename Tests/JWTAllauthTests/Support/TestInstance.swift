import Foundation
import Synchronization
@testable import AllauthDomain
@testable import AllauthRuntime
@testable import AllauthStore

#if canImport(Glibc)
import Glibc
#endif

/// A real instance for end-to-end tests: `jwt-allauth dev` (the same path as `make run`) —
/// nginx on a free loopback port in front of the worker pool — in a temporary directory.
final class TestInstance: ServiceInstance {
    let directory: URL
    let port: Int
    let client: HTTPClient
    let process: Process
    let environment: [String: String]
    /// The real SMTP server on loopback this instance delivers to (`smtp: true`), for tests that
    /// read the mail a user would get.
    let mailSink: SMTPSink?
    let engine: TestEngine
    /// On PostgreSQL: this instance's database on the shared test cluster (shared with a second
    /// host when the test passes it in), dropped when no instance uses it any more.
    let postgres: PostgresDatabase?
    var expectedWorkers: Int { Int(environment["JWT_ALLAUTH_SERVER_WORKERS"] ?? "") ?? 2 }
    var threadsPerWorker: Int { Int(environment["JWT_ALLAUTH_SERVER_THREADS"] ?? "") ?? 16 }
    var mount: String { "/jwt-allauth" }
    var configPath: String { directory.appendingPathComponent("config.yaml").path }

    /// Test runs use cheap password hashing; one test checks the production default separately.
    static let passwordIterations = 1000

    /// `directory`: an instance directory prepared by the test (config, keys, database), e.g. a
    /// restored backup; by default a fresh one. `engine`: by default the one the test run asks for
    /// (`TestEngine.current`); `postgres`: a database another instance already uses (two hosts).
    /// `port`: one the test chose beforehand (`freePort()`), when its configuration names it.
    init(algorithm: String = "ES256", environment: [String: String] = [:], nginxWorkers: Int = 1, smtp: Bool = false,
         directory existing: URL? = nil, engine: TestEngine = .current, postgres shared: PostgresDatabase? = nil,
         credentialRate: String = "1000r/s", port chosenPort: Int? = nil) throws {
        mailSink = smtp ? try SMTPSink() : nil
        let engine = shared == nil ? engine : .postgresql
        self.engine = engine
        postgres = engine == .postgresql ? try shared ?? PostgresCluster.shared().createDatabase() : nil
        directory = existing ?? FileManager.default.temporaryDirectory.appendingPathComponent("jwt-allauth-test-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        port = chosenPort ?? Self.freePort()
        client = HTTPClient(port: port)
        var env = ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("JWT_ALLAUTH_") }
        env["JWT_ALLAUTH_ACCOUNTS_PASSWORD_ITERATIONS"] = String(Self.passwordIterations)
        if let mailSink {
            env.merge(mailSink.environment) { $1 }
            env["JWT_ALLAUTH_MAIL_POLL_INTERVAL"] = "0.1"
        }
        if let postgres { env["JWT_ALLAUTH_DATABASE_URL"] = postgres.url }
        for (key, value) in environment { env[key] = value }
        self.environment = env
        process = Process()
        process.executableURL = Self.binary
        process.arguments = ["dev", "--dir", directory.path, "--port", String(port), "--algorithm", algorithm,
                             "--nginx-workers", String(nginxWorkers), "--credential-rate", credentialRate]
        process.environment = env
        let log = FileHandle(forWritingAtPath: Self.touch(directory.appendingPathComponent("dev.log")))
        process.standardOutput = log
        process.standardError = log
        try process.run()
        try waitUntilHealthy()
    }

    deinit {
        _ = stop()
        try? FileManager.default.removeItem(at: directory)
    }

    static var binary: URL {
        let exe = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
        var dir = URL(fileURLWithPath: exe).deletingLastPathComponent()
        // The test bundle lives in .build/<config>/; the executable beside it.
        for _ in 0..<3 where !FileManager.default.fileExists(atPath: dir.appendingPathComponent("jwt-allauth").path) {
            dir = dir.deletingLastPathComponent()
        }
        return dir.appendingPathComponent("jwt-allauth")
    }

    private static func touch(_ url: URL) -> String {
        _ = FileManager.default.createFile(atPath: url.path, contents: nil)
        return url.path
    }

    func waitUntilHealthy(timeout: TimeInterval = 60) throws {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            // Healthy means every worker has started, not only the first one.
            if let response = try? client.get("\(mount)/health/"), response.status == 200, startedWorkers >= expectedWorkers { return }
            guard process.isRunning else { break }
            usleep(50_000)
        }
        let log = (try? String(contentsOf: directory.appendingPathComponent("dev.log"), encoding: .utf8)) ?? ""
        throw InstanceError.notHealthy(log)
    }

    enum InstanceError: Error { case notHealthy(String) }

    var log: String { (try? String(contentsOf: directory.appendingPathComponent("dev.log"), encoding: .utf8)) ?? "" }

    private var startedWorkers: Int { log.components(separatedBy: "worker started").count - 1 }

    /// Stops nginx and the pool (SIGTERM to `dev`), answering its exit status.
    @discardableResult
    func stop() -> Int32 {
        if process.isRunning {
            process.terminate()
            process.waitUntilExit()
        }
        return process.terminationStatus
    }

    // MARK: processes

    static func childPIDs(of parent: pid_t) -> [pid_t] {
        guard let entries = try? FileManager.default.contentsOfDirectory(atPath: "/proc") else { return [] }
        return entries.compactMap { name -> pid_t? in
            guard let pid = pid_t(name),
                  let stat = try? String(contentsOfFile: "/proc/\(name)/stat", encoding: .utf8),
                  let close = stat.lastIndex(of: ")")
            else { return nil }
            let fields = stat[stat.index(after: close)...].split(separator: " ")
            return fields.count > 2 && pid_t(fields[1]) == parent && fields[0] != "Z" ? pid : nil
        }
    }

    static func commandLine(_ pid: pid_t) -> String {
        let data = FileManager.default.contents(atPath: "/proc/\(pid)/cmdline") ?? Data()
        return String(decoding: data.map { $0 == 0 ? 32 : $0 }, as: UTF8.self)
    }

    var masterPID: pid_t? {
        Self.childPIDs(of: process.processIdentifier).first { Self.commandLine($0).contains(" serve ") }
    }

    var workerPIDs: [pid_t] {
        masterPID.map { Self.childPIDs(of: $0).filter { Self.commandLine($0).contains(" worker ") }.sorted() } ?? []
    }

    /// The pool's mail process (`jwt-allauth mailer`), once the master started it.
    var mailerPID: pid_t? {
        masterPID.flatMap { Self.childPIDs(of: $0).first { Self.commandLine($0).contains(" mailer ") } }
    }

    // MARK: data

    var storeLocation: StoreLocation {
        postgres.map { .postgreSQL(url: $0.url, password: nil) } ?? .sqlite(path: directory.appendingPathComponent("jwt-allauth.sqlite3").path)
    }

    /// A loopback port for a test server to listen on. Chosen below the kernel's ephemeral range
    /// (`ip_local_port_range`): a port from that range can be taken, between this check and the
    /// server's bind, as the local end of any outgoing loopback connection (to PostgreSQL, the SMTP
    /// sink, nginx), which made nginx fail with EADDRINUSE now and then. Never the same port twice
    /// in one test run, and only one that binds now.
    static func freePort() -> Int {
        let low = ephemeralLow
        return handedOut.withLock { ports in
            for _ in 0..<1000 {
                let port = Int.random(in: 10_000..<low)
                if !ports.contains(port), canBind(port) {
                    ports.insert(port)
                    return port
                }
            }
            fatalError("no free loopback port in 10000..<\(low)")
        }
    }

    private static let handedOut = Mutex<Set<Int>>([])

    private static let ephemeralLow: Int = {
        let range = (try? String(contentsOfFile: "/proc/sys/net/ipv4/ip_local_port_range", encoding: .utf8)) ?? ""
        let low = Int(range.split(whereSeparator: \.isWhitespace).first ?? "") ?? 32768
        return max(low, 20_000)
    }()

    private static func canBind(_ port: Int) -> Bool {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = UInt16(port).bigEndian
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        return withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        } == 0
    }
}
