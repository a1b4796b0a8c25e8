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

    @Test func aPortAnotherProgramListensOnIsRefusedBeforeAnythingStarts() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("jwt-allauth-test-\(UUID().uuidString.prefix(8))")
        defer { try? FileManager.default.removeItem(at: directory) }
        let port = TestInstance.freePort()
        // Another program already listens on the port nginx was told to use.
        let taken = try Self.listen(on: port)
        defer { close(taken) }

        let run = try runDev(directory: directory, port: port)
        #expect(run.status == 1, "dev exited with \(String(describing: run.status)):\n\(run.output)")
        #expect(run.output.contains("127.0.0.1:\(port) is in use"), "the port is named:\n\(run.output)")
        #expect(!run.output.contains("is up"), "\(run.output)")
        #expect(!run.output.contains("worker started"), "no pool was started:\n\(run.output)")
        let left = Self.processes(mentioning: directory.path)
        #expect(left.isEmpty, "left running: \(left.map(TestInstance.commandLine))")
        #expect(!FileManager.default.fileExists(atPath: directory.appendingPathComponent("run/jwt-allauth.sock").path))
    }

    /// Issue 20: a second `make run` on the same port once said "is up" (health/ answered by the
    /// first instance's nginx), replaced the first's socket and deleted it, leaving the first
    /// answering 503. Both ways of starting a second one are refused now, and the first carries on.
    @Test func aSecondDevOnTheSameDirectoryOrPortIsRefusedAndTheFirstKeepsServing() throws {
        let first = try TestInstance()
        try first.createUser("first@example.com")
        let login = try first.login("first@example.com")
        #expect(login.status == 200)
        let cookie = try #require(login.cookie("refresh_token"))
        let socket = first.directory.appendingPathComponent("run/jwt-allauth.sock").path
        let inode = try Self.inode(socket)

        // The same directory on another port: the lock names the running dev.
        let sameDirectory = try runDev(directory: first.directory, port: TestInstance.freePort())
        #expect(sameDirectory.status == 1, "\(sameDirectory.output)")
        #expect(sameDirectory.output.contains("the instance directory \(first.directory.path) is in use by jwt-allauth dev (pid \(first.process.processIdentifier), http://127.0.0.1:\(first.port))"),
                "\(sameDirectory.output)")
        // Another directory on the same port: refused before a pool starts.
        let other = FileManager.default.temporaryDirectory.appendingPathComponent("jwt-allauth-test-\(UUID().uuidString.prefix(8))")
        defer { try? FileManager.default.removeItem(at: other) }
        let samePort = try runDev(directory: other, port: first.port)
        #expect(samePort.status == 1, "\(samePort.output)")
        #expect(samePort.output.contains("127.0.0.1:\(first.port) is in use"), "\(samePort.output)")
        for run in [sameDirectory, samePort] { #expect(!run.output.contains("is up"), "\(run.output)") }

        // The first instance: its socket untouched, health/ and a refresh through it still answer.
        #expect(try Self.inode(socket) == inode, "the first instance's socket was replaced")
        #expect(try first.client.get("\(first.mount)/health/").status == 200)
        let refresh = try first.client.post("\(first.mount)/refresh/", json: "{}", headers: [("Cookie", "refresh_token=\(cookie)")])
        #expect(refresh.status == 200, "\(refresh.status) \(refresh.text)")
        // A second serve on the first one's socket is refused the same way.
        let serve = try first.command(["serve"])
        #expect(serve.status != 0)
        #expect(serve.output.contains("\(socket) is in use by jwt-allauth serve"), "\(serve.output)")
        #expect(try Self.inode(socket) == inode)
    }

    /// `PORT=… make run` on an existing var/: mail links and the browser origin follow the new port.
    @Test func theLocalInstanceFollowsItsPortOnAnExistingDirectory() throws {
        let before = try TestInstance()
        before.stop()
        let after = try TestInstance(smtp: true, directory: before.directory)
        #expect(after.port != before.port)
        #expect(after.log.contains("port \(after.port): public_url and allowed_origins"), "\(after.log)")
        #expect(try after.register("moved@example.com").status == 201)
        let mail = try after.awaitMail(to: "moved@example.com")
        #expect(mail.link(port: after.port) != nil, "the link names the new port: \(mail.text ?? "")")
        #expect(mail.text?.contains("127.0.0.1:\(before.port)") == false)
        try after.createUser("browser@example.com")
        let newOrigin = try after.login("browser@example.com", headers: [("Origin", "http://localhost:\(after.port)")])
        #expect(newOrigin.status == 200, "\(newOrigin.status) \(newOrigin.text)")
        let oldOrigin = try after.login("browser@example.com", headers: [("Origin", "http://localhost:\(before.port)")])
        #expect(oldOrigin.status == 403, "\(oldOrigin.status) \(oldOrigin.text)")
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

    private static func inode(_ path: String) throws -> UInt64 {
        var info = stat()
        guard stat(path, &info) == 0 else { throw POSIXError(.ENOENT) }
        return UInt64(info.st_ino)
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
