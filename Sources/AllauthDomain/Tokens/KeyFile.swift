import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// How `rotate-key` writes a key file: whole under a temporary name in the same directory, created
/// with its final mode and owner (so no one else can read it, even briefly, and the service can
/// when root runs the command), flushed, checked, then renamed into place. A worker starting
/// meanwhile reads the old key or the new one, never part of one.
struct KeyFile {
    var mode: mode_t
    var owner: uid_t
    var group: gid_t

    /// The owner and group of the file at `path`, with `mode` (its own when nil).
    init(like path: String, mode: mode_t? = nil) throws(KeyRotationError) {
        var info = stat()
        guard stat(path, &info) == 0 else { throw .cannotWrite(path: path, reason: "cannot read its owner (\(String(cString: strerror(errno))))") }
        self.mode = mode ?? (info.st_mode & 0o7777)
        self.owner = info.st_uid
        self.group = info.st_gid
    }

    /// Writes `text` to `path`; `check` sees the complete file before it takes the name.
    func write(_ text: String, to path: String, check: (String) throws -> Void = { _ in }) throws {
        let url = URL(fileURLWithPath: path)
        let temporary = url.deletingLastPathComponent().appendingPathComponent(".\(url.lastPathComponent).\(getpid()).tmp").path
        unlink(temporary)  // one left by a rotation that was killed
        let fd = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode)
        guard fd >= 0 else { throw KeyRotationError.cannotWrite(path: temporary, reason: String(cString: strerror(errno))) }
        var renamed = false
        defer { if !renamed { unlink(temporary) } }
        do {
            defer { close(fd) }
            guard fchown(fd, owner, group) == 0 else {
                throw KeyRotationError.cannotWrite(path: temporary, reason: """
                    cannot give it owner \(owner):\(group), the key's (\(String(cString: strerror(errno)))); run rotate-key as root or as that user
                    """)
            }
            // The umask may have narrowed the mode open() was given; fchown may have cleared bits.
            fchmod(fd, mode)
            var bytes = Array(text.utf8)[...]
            while !bytes.isEmpty {
                let count = bytes.withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
                guard count > 0 else { throw KeyRotationError.cannotWrite(path: temporary, reason: String(cString: strerror(errno))) }
                bytes = bytes.dropFirst(count)
            }
            guard fsync(fd) == 0 else { throw KeyRotationError.cannotWrite(path: temporary, reason: String(cString: strerror(errno))) }
        }
        try check(temporary)
        guard rename(temporary, path) == 0 else { throw KeyRotationError.cannotWrite(path: path, reason: String(cString: strerror(errno))) }
        renamed = true
    }

    /// Makes the names given since the last call durable: fsync of the directory.
    static func flush(directory: String) {
        let fd = open(directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0 else { return }
        fsync(fd)
        close(fd)
    }
}
