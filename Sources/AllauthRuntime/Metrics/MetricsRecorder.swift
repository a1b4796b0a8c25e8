import Foundation

/// What a process counts: requests by route, status and latency, and the `PoolCounter`s, into its
/// own counter file under `MetricsDirectory`. Cheap enough for every request: no lock, no system
/// call, a handful of relaxed atomic adds.
public final class MetricsRecorder: Sendable {
    private let file: CounterFile

    init(file: CounterFile) { self.file = file }

    /// A recorder that counts in private memory only (tests, or no writable run directory).
    public static func inMemory(routes: [String] = []) -> MetricsRecorder {
        MetricsRecorder(file: .anonymous(MetricsLayout(routes: routes)))
    }

    public func count(_ counter: PoolCounter, _ amount: Int = 1) {
        guard amount > 0 else { return }
        file.add(file.layout.counterBase + counter.rawValue, UInt64(amount))
    }

    /// One answered request on the route with index `route` (in the labels it was opened with).
    package func request(route: Int, status: Int, seconds: Double) {
        let layout = file.layout
        guard layout.routes.indices.contains(route) else { return }
        file.add(layout.statusWord(route: route, status: status))
        file.add(layout.bucketWord(route: route, seconds: seconds))
        file.add(layout.sumWord(route: route), UInt64(max(0, seconds * 1_000_000)))
        file.add(layout.countWord(route: route))
    }

    /// This recorder's own figures (what this process counted).
    public var snapshot: MetricsSnapshot { MetricsSnapshot(file) }
}

/// The directory of counter files, one per worker slot (per route table) plus the master's.
/// It lives beside the FastCGI socket, in the run directory the service user owns (systemd's
/// `RuntimeDirectory`), so counts start from zero with the service, as Prometheus expects.
public struct MetricsDirectory: Sendable {
    public let path: String

    public init(path: String) { self.path = path }

    /// `<socket's directory>/metrics`.
    public init(socket: String) {
        self.init(path: URL(fileURLWithPath: socket).deletingLastPathComponent().appendingPathComponent("metrics").path)
    }

    /// The master clears the directory when the pool starts: a new pool counts from zero.
    public func reset() throws {
        let fm = FileManager.default
        try fm.createDirectory(atPath: path, withIntermediateDirectories: true)
        for name in try fm.contentsOfDirectory(atPath: path) where name.hasSuffix(".counters") || name.hasSuffix(".tmp") {
            try fm.removeItem(atPath: path + "/" + name)
        }
    }

    /// A recorder for one process, in `<name>-<route table>.counters`; a worker passes its slot
    /// (`worker-0`), so a respawned worker carries on in the file its predecessor filled.
    /// Falls back to private memory (and says why) if the file cannot be used.
    public func recorder(name: String, routes: [String], onError: (Error) -> Void = { _ in }) -> MetricsRecorder {
        let layout = MetricsLayout(routes: routes)
        do {
            try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
            return MetricsRecorder(file: try CounterFile.open(directory: path, name: "\(name)-\(layout.signature).counters", layout: layout))
        } catch {
            onError(error)
            return MetricsRecorder(file: .anonymous(layout))
        }
    }

    /// Everything the pool counted: every counter file in the directory, summed.
    public func snapshot() -> MetricsSnapshot {
        var total = MetricsSnapshot()
        let names = (try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []
        for name in names.sorted() where name.hasSuffix(".counters") {
            if let figures = CounterFile.read(path: path + "/" + name) { total.add(figures) }
        }
        return total
    }
}
