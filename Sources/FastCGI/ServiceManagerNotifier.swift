import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// Tells the service manager how the pool is doing (`Type=notify`): `READY=1` once every worker
/// accepts, `RELOADING=1` and `READY=1` around a reload, `STOPPING=1` on the way out.
///
/// This is sd_notify(3) written out rather than linked from libsystemd: the protocol is one
/// AF_UNIX datagram of `KEY=value` lines sent to the address in `$NOTIFY_SOCKET` (a path, or an
/// abstract name written with a leading `@`), which systemd documents as a stable interface for
/// exactly this; libsystemd would add a runtime library (and a package dependency) for a dozen
/// lines, to a binary that must also run where systemd does not (`jwt-allauth dev`, spawn-fcgi).
/// Without `$NOTIFY_SOCKET` every call does nothing.
public struct ServiceManagerNotifier: Sendable {
    public static let environmentVariable = "NOTIFY_SOCKET"
    private let address: String?

    /// The address in `environment`'s `$NOTIFY_SOCKET`, if any.
    public init(environment: [String: String] = ProcessInfo.processInfo.environment) {
        address = environment[Self.environmentVariable].flatMap { $0.isEmpty ? nil : $0 }
    }

    /// Reads `$NOTIFY_SOCKET` and removes it from this process's environment, as sd_notify's
    /// `unset_environment` does: the children the master spawns must not talk to the manager
    /// (the unit says `NotifyAccess=main`, and a worker's `READY=1` would mean nothing).
    /// Call it before any thread or child starts (setenv and getenv are not thread-safe).
    public static func takeFromEnvironment() -> ServiceManagerNotifier {
        let notifier = ServiceManagerNotifier()
        unsetenv(environmentVariable)
        return notifier
    }

    public var isActive: Bool { address != nil }

    /// `READY=1`, with a `STATUS=` line for `systemctl status` (one line: a newline would end it).
    public func ready(status: String) { send(["READY=1", "STATUS=" + status.split(whereSeparator: \.isNewline).joined(separator: " ")]) }

    /// `RELOADING=1` with the time the reload began on CLOCK_MONOTONIC, which systemd 253 and later
    /// require with it (older ones ignore it); a `READY=1` must follow when the reload is done or refused.
    public func reloading() {
        var now = timespec()
        clock_gettime(CLOCK_MONOTONIC, &now)
        let microseconds = UInt64(now.tv_sec) * 1_000_000 + UInt64(now.tv_nsec) / 1000
        send(["RELOADING=1", "MONOTONIC_USEC=\(microseconds)", "STATUS=reloading"])
    }

    public func stopping() { send(["STOPPING=1", "STATUS=stopping"]) }

    /// One datagram of `lines`; answers whether it was sent. Failures are not errors of the service:
    /// a manager that went away must not stop the pool.
    @discardableResult
    public func send(_ lines: [String]) -> Bool {
        guard let address, var socketAddress = Self.socketAddress(address) else { return false }
        let fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        let message = Array((lines.joined(separator: "\n") + "\n").utf8)
        let sent = withUnsafePointer(to: &socketAddress.address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { target in
                message.withUnsafeBytes { sendto(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL), target, socketAddress.length) }
            }
        }
        return sent == message.count
    }

    /// `sockaddr_un` for a path, or for an abstract name (`@name`: a leading NUL, and a length that
    /// counts the name's bytes only, since abstract names are not NUL-terminated).
    static func socketAddress(_ text: String) -> (address: sockaddr_un, length: socklen_t)? {
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        var bytes = Array(text.utf8)
        let abstract = bytes.first == UInt8(ascii: "@")
        if abstract { bytes[0] = 0 } else if bytes.first != UInt8(ascii: "/") { return nil }
        let capacity = MemoryLayout.size(ofValue: address.sun_path)
        guard bytes.count < capacity else { return nil }
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            for (index, byte) in bytes.enumerated() { raw[index] = byte }
        }
        let pathOffset = MemoryLayout<sockaddr_un>.offset(of: \.sun_path)!
        return (address, socklen_t(pathOffset + bytes.count + (abstract ? 0 : 1)))
    }
}
