import Synchronization

/// A thread-safe memo of a pure function that never grows past `limit` entries: when full it
/// starts again rather than evict one by one (the hot paths that use it, verify/'s token and
/// answer caches, refill it in a few requests, and bookkeeping per entry would cost each lookup).
final class BoundedMemo<Key: Hashable & Sendable, Value: Sendable>: Sendable {
    private let entries = Mutex<[Key: Value]>([:])
    private let limit: Int

    init(limit: Int) { self.limit = limit }

    subscript(key: Key) -> Value? { entries.withLock { $0[key] } }

    func remember(_ value: Value, for key: Key) {
        entries.withLock { entries in
            if entries.count >= limit { entries.removeAll(keepingCapacity: true) }
            entries[key] = value
        }
    }
}
