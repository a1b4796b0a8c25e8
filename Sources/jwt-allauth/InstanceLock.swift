import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// One running instance per directory and per socket: an exclusive `flock` on a file beside what
/// the instance owns, held until the process exits (the kernel releases it then, even after a
/// kill -9, so a stale file never blocks a start). The holder writes who it is into the file, so a
/// second start is refused with a message naming the running one, before it touches anything.
/// The descriptor is never closed: the lock lasts as long as the process that took it.
struct InstanceLock {
    struct Held: Error, CustomStringConvertible {
        var what: String
        var holder: String
        var advice: String
        var description: String { "\(what) is in use by \(holder.isEmpty ? "another process" : holder); \(advice)" }
    }

    /// Takes the lock on `path` (created 0600 if missing) without waiting, and writes `holder` into it.
    /// `what` and `advice` make the refusal's message.
    init(_ path: String, holder: String, what: String, advice: String) throws {
        let fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard fd >= 0 else {
            throw CocoaError(.fileWriteNoPermission, userInfo: [NSFilePathErrorKey: path])
        }
        guard flock(fd, LOCK_EX | LOCK_NB) == 0 else {
            var bytes = [UInt8](repeating: 0, count: 512)
            let count = pread(fd, &bytes, bytes.count, 0)
            close(fd)
            let running = String(decoding: bytes.prefix(max(count, 0)), as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
            throw Held(what: what, holder: running, advice: advice)
        }
        let line = Array((holder + "\n").utf8)
        ftruncate(fd, 0)
        _ = line.withUnsafeBytes { pwrite(fd, $0.baseAddress, $0.count, 0) }
    }

    /// True when another socket holds 127.0.0.1:`port` (a bind there fails with EADDRINUSE): another
    /// program's nginx, or anything else listening on it.
    static func portInUse(_ port: Int) -> Bool {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        var reuse: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &reuse, socklen_t(MemoryLayout<Int32>.size))
        return withLoopbackAddress(port: port, { bind(fd, $0, $1) }) != 0 && errno == EADDRINUSE
    }
}
