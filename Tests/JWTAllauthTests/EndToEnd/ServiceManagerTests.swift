import Foundation
import Testing
@testable import AllauthDomain
@testable import FastCGI

#if canImport(Glibc)
import Glibc
#endif

/// The pool as systemd runs it (`Type=notify`, `NotifyAccess=main`), with a datagram socket of the
/// test's as `$NOTIFY_SOCKET`; and the files the commands make under an open umask.
@Suite(.serialized)
struct ServiceManagerTests {
    /// The service manager's end: messages with the pid the kernel vouches for (SO_PASSCRED).
    final class Manager {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("notify-\(UUID().uuidString.prefix(8)).sock").path
        let fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue), 0)

        init() throws {
            var (address, length) = try #require(ServiceManagerNotifier.socketAddress(path))
            let bound = withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) } }
            var on: Int32 = 1
            guard bound == 0, setsockopt(fd, SOL_SOCKET, SO_PASSCRED, &on, socklen_t(MemoryLayout<Int32>.size)) == 0 else {
                throw POSIXError(.EADDRINUSE)
            }
        }

        deinit {
            close(fd)
            unlink(path)
        }

        /// The next message and its sender, or nil after `timeout` seconds.
        func receive(timeout: Int32 = 20_000) -> (pid: pid_t, text: String)? {
            var poller = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            guard poll(&poller, 1, timeout) == 1 else { return nil }
            var buffer = [UInt8](repeating: 0, count: 4096)
            var control = [UInt8](repeating: 0, count: 64)
            return buffer.withUnsafeMutableBytes { bytes -> (pid_t, String)? in
                control.withUnsafeMutableBytes { controlBytes -> (pid_t, String)? in
                    var vector = iovec(iov_base: bytes.baseAddress, iov_len: bytes.count)
                    return withUnsafeMutablePointer(to: &vector) { vectorPointer -> (pid_t, String)? in
                        var message = msghdr()
                        message.msg_iov = vectorPointer
                        message.msg_iovlen = 1
                        message.msg_control = controlBytes.baseAddress
                        message.msg_controllen = controlBytes.count
                        let count = recvmsg(fd, &message, 0)
                        guard count > 0 else { return nil }
                        // One cmsghdr (length, level, type: 16 bytes), then struct ucred { pid, uid, gid }.
                        let level = controlBytes.load(fromByteOffset: 8, as: Int32.self)
                        let type = controlBytes.load(fromByteOffset: 12, as: Int32.self)
                        let pid = level == SOL_SOCKET && type == 2 /* SCM_CREDENTIALS */ ? controlBytes.load(fromByteOffset: 16, as: pid_t.self) : -1
                        return (pid, String(decoding: bytes[0..<count], as: UTF8.self))
                    }
                }
            }
        }
    }

    @Test func theMasterAloneSaysReadyOnceEveryWorkerAcceptsThenReloadingReadyAndStopping() throws {
        let manager = try Manager()
        // Healthy means both workers answer; the instance is up before this line returns.
        let instance = try TestInstance(environment: ["NOTIFY_SOCKET": manager.path])
        let master = try #require(instance.masterPID)
        let ready = try #require(manager.receive())
        #expect(ready.pid == master, "from the master, never a worker or dev")
        #expect(ready.text == "READY=1\nSTATUS=2 worker(s) accepting on \(instance.directory.appendingPathComponent("run/jwt-allauth.sock").path)\n")
        #expect(manager.receive(timeout: 300) == nil, "nothing more while nothing happens")

        kill(master, SIGHUP)
        let reloading = try #require(manager.receive())
        #expect(reloading.pid == master && reloading.text.hasPrefix("RELOADING=1\nMONOTONIC_USEC="))
        let reloaded = try #require(manager.receive())
        #expect(reloaded.pid == master && reloaded.text.hasPrefix("READY=1\n"))
        #expect(try instance.client.get("\(instance.mount)/health/").status == 200)
        #expect(instance.log.components(separatedBy: "worker started").count - 1 == 4, "two workers, then two more for the reload")

        #expect(instance.stop() == 0)
        let stopping = try #require(manager.receive())
        #expect(stopping.pid == master && stopping.text == "STOPPING=1\nSTATUS=stopping\n")
        #expect(manager.receive(timeout: 300) == nil, "no child spoke: they never had $NOTIFY_SOCKET")
    }

    @Test func aBrokenReloadIsStillAnsweredWithReady() throws {
        let manager = try Manager()
        let instance = try TestInstance(environment: ["NOTIFY_SOCKET": manager.path])
        let master = try #require(instance.masterPID)
        _ = try #require(manager.receive())
        let config = instance.directory.appendingPathComponent("config.yaml")
        let original = try String(contentsOf: config, encoding: .utf8)
        try (original + "\nnot_a_section: 1\n").write(to: config, atomically: true, encoding: .utf8)
        kill(master, SIGHUP)
        #expect(try #require(manager.receive()).text.hasPrefix("RELOADING=1\n"))
        let refused = try #require(manager.receive())
        #expect(refused.text.hasPrefix("READY=1\nSTATUS=reload refused, running the previous configuration: "), "\(refused.text)")
        try original.write(to: config, atomically: true, encoding: .utf8)
    }

    /// `migrate` and `backup` as a careless shell runs them: umask 000 still gives 0600 files.
    @Test func theDatabaseAndABackupAreTheOwnersAloneEvenUnderUmask000() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("umask-\(UUID().uuidString.prefix(8))")
        defer { try? FileManager.default.removeItem(at: directory) }
        var options = Deployment.Options(directory: directory, domain: "localhost")
        options.algorithm = .es256
        options.developmentPort = 8080
        try Deployment(options: options, share: DeploymentTests.share).write()
        let config = directory.appendingPathComponent("config.yaml").path
        let database = directory.appendingPathComponent("jwt-allauth.sqlite3").path
        let backup = directory.appendingPathComponent("backup.sqlite3").path
        let binary = TestInstance.binary.path
        let run = try ProcessRunner.run("/bin/sh", ["-c", "umask 000 && '\(binary)' migrate --config '\(config)' && '\(binary)' backup --config '\(config)' '\(backup)'"])
        #expect(run.status == 0, "\(run.output)")
        for path in [database, database + "-writer.lock", backup] {
            var info = stat()
            #expect(stat(path, &info) == 0 && info.st_mode & 0o777 == 0o600, "\(path): \(String(info.st_mode & 0o777, radix: 8))")
        }
    }
}
