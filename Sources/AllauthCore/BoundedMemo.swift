import Synchronization

/// A thread-safe memo of a pure function that never grows past `limit` entries: when full it
/// starts again rather than evict one by one (the hot paths that use it, verify/'s token and
/// answer caches, refill it in a few requests, and bookkeeping per entry would cost each lookup).
package final class BoundedMemo<Key: Hashable & Sendable, Value: Sendable>: Sendable {
    private let entries = Mutex<[Key: Value]>([:])
    private let limit: Int

    package init(limit: Int) { self.limit = limit }

    package subscript(key: Key) -> Value? { entries.withLock { $0[key] } }

    package func remember(_ value: Value, for key: Key) {
        entries.withLock { entries in
            if entries.count >= limit { entries.removeAll(keepingCapacity: true) }
            entries[key] = value
        }
    }
}
