import Foundation
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// `jwt-allauth dev` (`make run`) that cannot start: it says why, never says it is up, exits
/// non-zero, and leaves nothing it started behind: no nginx on the port, no pool.
@Suite(.serialized)
struct DevStartupTests {
    /// How long a failed start may take before the test gives up on it (nginx alone retries a
    /// taken port for 2.5 s).
    static let exitWithin: TimeInterval = 45

    @Test func aMissingKeyFileStopsDevWithTheErrorAndNothingListensOnThePort() throws {
        // A complete instance first, then its signing key taken away.
        let instance = try TestInstance()
        instance.stop()
        try FileManager.default.removeItem(at: instance.directory.appendingPathComponent("keys/private.pem"))

        let run = try runDev(directory: instance.directory, port: instance.port)
        #expect(run.status.map { $0 != 0 } == true, "dev exited with \(String(describing: run.status)):\n\(run.output)")
        #expect(run.output.contains("private.pem"), "the error names the file:\n\(run.output)")
        #expect(!run.output.contains("is up"), "\(run.output)")
        #expect(!Self.somethingListens(on: instance.port), "a process still listens on the port")
        #expect(Self.processes(mentioning: instance.directory.path).isEmpty)
    }

    @Test func nginxUnableToBindStopsDevAndThePoolItStarted() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("jwt-allauth-test-\(UUID().uuidString.prefix(8))")
        defer { try? FileManager.default.removeItem(at: directory) }
        let port = TestInstance.freePort()
        // Another program already listens on the port nginx was told to use.
        let taken = try Self.listen(on: port)
        defer { close(taken) }

        let run = try runDev(directory: directory, port: port)
        #expect(run.status.map { $0 != 0 } == true, "dev exited with \(String(describing: run.status)):\n\(run.output)")
        #expect(run.output.contains("bind()"), "nginx's error is shown:\n\(run.output)")
        #expect(!run.output.contains("is up"), "\(run.output)")
        // The pool came up (its workers started) before nginx gave up: all of it is gone.
        #expect(run.output.contains("worker started"), "\(run.output)")
        let left = Self.processes(mentioning: directory.path)
        #expect(left.isEmpty, "left running: \(left.map(TestInstance.commandLine))")
        #expect(!FileManager.default.fileExists(atPath: directory.appendingPathComponent("run/jwt-allauth.sock").path))
    }

    // MARK: support

    /// Runs `jwt-allauth dev` on `directory` until it exits by itself (SIGKILL after `exitWithin`,
    /// status nil then): its status and output.
    private func runDev(directory: URL, port: Int) throws -> (status: Int32?, output: String) {
        var environment = ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("JWT_ALLAUTH_") }
        environment["JWT_ALLAUTH_ACCOUNTS_PASSWORD_ITERATIONS"] = String(TestInstance.passwordIterations)
        let process = Process()
        process.executableURL = TestInstance.binary
        process.arguments = ["dev", "--dir", directory.path, "--port", String(port), "--algorithm", "ES256"]
        process.environment = environment
        let log = FileManager.default.temporaryDirectory.appendingPathComponent("dev-startup-\(UUID().uuidString.prefix(8)).log")
        _ = FileManager.default.createFile(atPath: log.path, contents: nil)
        defer { try? FileManager.default.removeItem(at: log) }
        let output = try FileHandle(forWritingTo: log)
        process.standardOutput = output
        process.standardError = output
        try process.run()
        let deadline = Date().addingTimeInterval(Self.exitWithin)
        while process.isRunning && Date() < deadline { usleep(50_000) }
        var status: Int32?
        if process.isRunning {
            kill(process.processIdentifier, SIGKILL)
        } else {
            status = process.terminationStatus
        }
        process.waitUntilExit()
        try output.close()
        return (status, (try? String(contentsOf: log, encoding: .utf8)) ?? "")
    }

    /// A listening TCP socket on 127.0.0.1:`port`.
    private static func listen(on port: Int) throws -> Int32 {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = loopback(port)
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard bound == 0, Glibc.listen(fd, 16) == 0 else {
            close(fd)
            throw POSIXError(.EADDRINUSE)
        }
        return fd
    }

    /// Whether a connection to 127.0.0.1:`port` is accepted.
    private static func somethingListens(on port: Int) -> Bool {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var address = loopback(port)
        return withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        } == 0
    }

    private static func loopback(_ port: Int) -> sockaddr_in {
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = UInt16(port).bigEndian
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        return address
    }

    /// Live processes whose command line names `path`: the pool (`serve`, `worker`, `mailer`
    /// take `--config <path>/config.yaml`) and nginx's master (`-p <path>`).
    private static func processes(mentioning path: String) -> [pid_t] {
        guard let entries = try? FileManager.default.contentsOfDirectory(atPath: "/proc") else { return [] }
        return entries.compactMap { name -> pid_t? in
            guard let pid = pid_t(name), pid != getpid(),
                  let stat = try? String(contentsOfFile: "/proc/\(name)/stat", encoding: .utf8),
                  let close = stat.lastIndex(of: ")"),
                  stat[stat.index(after: close)...].split(separator: " ").first != "Z"
            else { return nil }
            return TestInstance.commandLine(pid).contains(path) ? pid : nil
        }
    }
}
