import Atomics
import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// One process's counters: a small file under the run directory, mapped into memory and changed
/// with relaxed atomic adds, so a request costs a few nanoseconds and takes no lock; the metrics
/// endpoint (in whichever worker nginx picks) maps every process's file and sums them.
/// A file outlives the process that wrote it, so a respawned worker of the same slot carries on
/// counting in it and nothing a dead worker counted is lost.
final class CounterFile: @unchecked Sendable {
    // @unchecked: the mapping is written only through atomics and never unmapped (a process maps
    // one file for its lifetime).
    let layout: MetricsLayout
    private let words: UnsafeMutablePointer<UnsafeAtomic<UInt64>.Storage>

    private init(layout: MetricsLayout, words: UnsafeMutablePointer<UnsafeAtomic<UInt64>.Storage>) {
        self.layout = layout
        self.words = words
    }

    /// Private memory, no file: a process whose run directory is not writable still serves,
    /// and unit tests need no directory.
    static func anonymous(_ layout: MetricsLayout) -> CounterFile {
        let words = UnsafeMutablePointer<UnsafeAtomic<UInt64>.Storage>.allocate(capacity: layout.totalWords)
        words.initialize(repeating: UnsafeAtomic<UInt64>.Storage(0), count: layout.totalWords)
        return CounterFile(layout: layout, words: words)
    }

    /// Opens `directory/name`, creating it if needed (a `PoolFile`: two processes of one slot,
    /// old and new during a reload, end up sharing one file).
    static func open(directory: String, name: String, layout: MetricsLayout) throws -> CounterFile {
        let path = directory + "/" + name
        let header = Self.header(layout)
        let base = try PoolFile.map(path, bytes: layout.totalWords * 8) { memory in
            header.withUnsafeBytes { memory.copyMemory(from: $0.baseAddress!, byteCount: $0.count) }
        }
        let file = CounterFile(layout: layout, words: base.bindMemory(to: UnsafeAtomic<UInt64>.Storage.self, capacity: layout.totalWords))
        guard file.load(0) == MetricsLayout.magic, Self.labels(in: base) == layout.routes else { throw PoolFileError.foreignFile(path) }
        return file
    }

    /// The magic word, the route count and the route labels; the counters after them start at zero.
    private static func header(_ layout: MetricsLayout) -> [UInt8] {
        var header = [UInt8](repeating: 0, count: layout.headerWords * 8)
        withUnsafeBytes(of: MetricsLayout.magic) { header.replaceSubrange(0..<8, with: $0) }
        withUnsafeBytes(of: UInt64(layout.routes.count)) { header.replaceSubrange(8..<16, with: $0) }
        for (index, label) in layout.routes.enumerated() {
            let start = 16 + index * MetricsLayout.labelBytes
            let bytes = Array(label.utf8.prefix(MetricsLayout.labelBytes - 1))
            header.replaceSubrange(start..<start + bytes.count, with: bytes)
        }
        return header
    }

    func add(_ word: Int, _ amount: UInt64 = 1) {
        UnsafeAtomic<UInt64>(at: words + word).wrappingIncrement(by: amount, ordering: .relaxed)
    }

    func load(_ word: Int) -> UInt64 {
        UnsafeAtomic<UInt64>(at: words + word).load(ordering: .relaxed)
    }

    /// The figures of the file at `path` (written by any process), or nil if it is not a
    /// complete counter file.
    static func read(path: String) -> MetricsSnapshot? {
        let fd = Glibc.open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0, info.st_size >= 16 else { return nil }
        let size = Int(info.st_size)
        guard let base = mmap(nil, size, PROT_READ, MAP_SHARED, fd, 0), base != MAP_FAILED else { return nil }
        defer { munmap(base, size) }
        guard base.load(as: UInt64.self) == MetricsLayout.magic else { return nil }
        let routeCount = Int(base.load(fromByteOffset: 8, as: UInt64.self))
        guard routeCount < 4096, 16 + routeCount * MetricsLayout.labelBytes <= size else { return nil }
        let layout = MetricsLayout(routes: labels(in: base))
        guard layout.totalWords * 8 == size else { return nil }
        // Atomic loads never write: the read-only mapping is only typed as mutable for the API.
        let file = CounterFile(layout: layout, words: UnsafeMutableRawPointer(mutating: base)
            .bindMemory(to: UnsafeAtomic<UInt64>.Storage.self, capacity: layout.totalWords))
        return MetricsSnapshot(file)
    }

    private static func labels(in base: UnsafeRawPointer) -> [String] {
        let count = Int(base.load(fromByteOffset: 8, as: UInt64.self))
        return (0..<count).map { index in
            let start = base.advanced(by: 16 + index * MetricsLayout.labelBytes).assumingMemoryBound(to: UInt8.self)
            let bytes = UnsafeBufferPointer(start: start, count: MetricsLayout.labelBytes)
            return String(decoding: bytes.prefix { $0 != 0 }, as: UTF8.self)
        }
    }
}
