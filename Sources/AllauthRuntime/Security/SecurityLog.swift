import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// Writes `SecurityEvent`s, one line each, to a file (`log.security_events`) or standard error:
///
///     2026-11-25T23:11:26Z jwt-allauth event=login_failed client=203.0.113.7
///
/// Every worker appends to the same file: one `write` on an `O_APPEND` descriptor lands whole
/// and never interleaves with another process's line. The file is reopened by path on SIGHUP
/// (a new worker generation), so logrotate's `create` works without `copytruncate`.
public final class SecurityLog: Sendable {
    private let fd: Int32

    private init(fd: Int32) { self.fd = fd }

    public static let standardError = SecurityLog(fd: STDERR_FILENO)

    public struct CannotOpen: Error, CustomStringConvertible {
        public var path: String
        public var code: Int32
        public var description: String { "log.security_events: cannot open \(path): \(String(cString: strerror(code)))" }
    }

    /// The configured destination: the file at `path` (created 0600: it names client addresses and
    /// accounts; fail2ban reads it as root), or standard error if nil.
    public static func open(path: String?) throws -> SecurityLog {
        guard let path else { return .standardError }
        try? FileManager.default.createDirectory(
            atPath: URL(fileURLWithPath: path).deletingLastPathComponent().path, withIntermediateDirectories: true)
        let fd = Glibc.open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw CannotOpen(path: path, code: errno) }
        return SecurityLog(fd: fd)
    }

    /// Records `event` from `client` (nginx's `REMOTE_ADDR`, after realip; nil for the CLI).
    public func record(_ event: SecurityEvent, client: String?, at date: Date = Date()) {
        let line = Array(Self.line(event, client: client, at: date).utf8)
        _ = line.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
    }

    /// The line for `event`, newline included.
    static func line(_ event: SecurityEvent, client: String?, at date: Date) -> String {
        var time = time_t(date.timeIntervalSince1970)
        var parts = tm()
        gmtime_r(&time, &parts)
        var buffer = [CChar](repeating: 0, count: 32)
        let length = strftime(&buffer, buffer.count, "%Y-%m-%dT%H:%M:%SZ", &parts)
        var line = String(decoding: buffer.prefix(length).map { UInt8(bitPattern: $0) }, as: UTF8.self)
        line += " jwt-allauth event=" + event.name
        if let client { line += " client=" + safe(client.isEmpty ? "-" : client) }
        for (key, value) in event.fields { line += " \(key)=" + safe(value) }
        return line + "\n"
    }

    /// Values are single tokens of a known alphabet: nothing a client sends can forge a second
    /// field (` client=…`) or a second line for fail2ban to act on.
    static func safe(_ value: String) -> String {
        let allowed = Set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789.:-_/<>".utf8)
        return String(decoding: value.utf8.prefix(128).map { allowed.contains($0) ? $0 : UInt8(ascii: "_") }, as: UTF8.self)
    }
}
