import Foundation
import Testing
@testable import FastCGI

#if canImport(Glibc)
import Glibc
#endif

/// sd_notify's datagram, to the two kinds of address `$NOTIFY_SOCKET` holds.
@Suite struct ServiceManagerNotifierTests {
    /// A datagram socket bound to `address` (a path, or `@name`), as the service manager's.
    final class Manager {
        let fd: Int32
        let address: String

        init(address: String) throws {
            self.address = address
            fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue), 0)
            var (socketAddress, length) = try #require(ServiceManagerNotifier.socketAddress(address))
            let bound = withUnsafePointer(to: &socketAddress) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) }
            }
            guard bound == 0 else { throw POSIXError(.EADDRINUSE) }
        }

        deinit {
            close(fd)
            if address.hasPrefix("/") { unlink(address) }
        }

        func receive() -> String? {
            var poller = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            guard poll(&poller, 1, 2000) == 1 else { return nil }
            var buffer = [UInt8](repeating: 0, count: 4096)
            let count = recv(fd, &buffer, buffer.count, 0)
            return count > 0 ? String(decoding: buffer[0..<count], as: UTF8.self) : nil
        }
    }

    @Test func readyReachesAManagerListeningOnAPath() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("notify-\(UUID().uuidString.prefix(8)).sock").path
        let manager = try Manager(address: path)
        let notifier = ServiceManagerNotifier(environment: ["NOTIFY_SOCKET": path])
        notifier.ready(status: "2 worker(s) accepting")
        #expect(manager.receive() == "READY=1\nSTATUS=2 worker(s) accepting\n")
    }

    @Test func anAbstractAddressIsWrittenWithAnAtAndSentWithALeadingNul() throws {
        let name = "@jwt-allauth-notify-test-\(UUID().uuidString.prefix(8))"
        let manager = try Manager(address: name)
        let notifier = ServiceManagerNotifier(environment: ["NOTIFY_SOCKET": name])
        notifier.reloading()
        let message = try #require(manager.receive())
        let lines = message.split(separator: "\n")
        #expect(lines.first == "RELOADING=1" && lines.last == "STATUS=reloading")
        // CLOCK_MONOTONIC in microseconds, the clock systemd compares it with.
        var now = timespec()
        clock_gettime(CLOCK_MONOTONIC, &now)
        let sent = try #require(lines.first { $0.hasPrefix("MONOTONIC_USEC=") }.flatMap { UInt64($0.dropFirst("MONOTONIC_USEC=".count)) })
        let current = UInt64(now.tv_sec) * 1_000_000 + UInt64(now.tv_nsec) / 1000
        #expect(sent <= current && current - sent < 5_000_000)
        notifier.stopping()
        #expect(manager.receive() == "STOPPING=1\nSTATUS=stopping\n")
    }

    @Test func withoutAManagerNothingIsSentAndNothingFails() {
        let notifier = ServiceManagerNotifier(environment: [:])
        #expect(!notifier.isActive)
        #expect(!notifier.send(["READY=1"]))
        // A manager that went away, or an address that is neither a path nor abstract: no error, no message.
        #expect(!ServiceManagerNotifier(environment: ["NOTIFY_SOCKET": "/nonexistent/notify.sock"]).send(["READY=1"]))
        #expect(ServiceManagerNotifier.socketAddress("relative/notify.sock") == nil)
        #expect(ServiceManagerNotifier.socketAddress("/" + String(repeating: "x", count: 200)) == nil)
    }
}
