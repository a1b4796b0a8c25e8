import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// A small file in the run directory that every process of the pool maps into memory (each
/// worker's metric counters, the hashing budget's doorbell). A new one is made complete under a
/// temporary name and then linked into place: no process ever maps half of one, and processes
/// creating the same file at once (workers starting, old and new during a reload) share the first.
enum PoolFile {
    /// Maps `path` read-write and shared, first creating it (`bytes` long, zero-filled, then
    /// `initialise`d in memory) when it does not exist. An existing file of another size is foreign.
    static func map(_ path: String, bytes: Int, initialise: (UnsafeMutableRawPointer) -> Void) throws(PoolFileError) -> UnsafeMutableRawPointer {
        var fd = open(path, O_RDWR | O_CLOEXEC)
        if fd < 0 && errno == ENOENT {
            try create(path, bytes: bytes, initialise: initialise)
            fd = open(path, O_RDWR | O_CLOEXEC)
        }
        guard fd >= 0 else { throw .cannotOpen(path, errno) }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0, Int(info.st_size) == bytes else { throw .foreignFile(path) }
        guard let base = mmap(nil, bytes, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0), base != MAP_FAILED else {
            throw .cannotOpen(path, errno)
        }
        return base
    }

    private static func create(_ path: String, bytes: Int, initialise: (UnsafeMutableRawPointer) -> Void) throws(PoolFileError) {
        let temporary = path + ".\(getpid()).tmp"
        let fd = open(temporary, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw .cannotOpen(temporary, errno) }
        defer { close(fd); unlink(temporary) }
        guard ftruncate(fd, off_t(bytes)) == 0,
              let base = mmap(nil, bytes, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0), base != MAP_FAILED
        else { throw .cannotOpen(temporary, errno) }
        initialise(base)
        munmap(base, bytes)
        // link() fails if another process got there first: then its file is the one to share.
        if link(temporary, path) != 0 && errno != EEXIST { throw .cannotOpen(path, errno) }
    }
}

/// Why a process could not map a pool file (it then keeps that state to itself, and says so).
enum PoolFileError: Error, CustomStringConvertible {
    case cannotOpen(String, Int32)
    case foreignFile(String)

    var description: String {
        switch self {
        case .cannotOpen(let path, let code): "cannot open \(path): \(String(cString: strerror(code)))"
        case .foreignFile(let path): "\(path) is not a file of this layout"
        }
    }
}
