import Foundation

/// How many password hashes may run at once: PBKDF2 takes a core for a fifth of a second, so a
/// login storm left unbounded takes every core from the refreshes. A request past the budget
/// waits a bounded time for a slot and is then refused (`HashingBudgetExhausted`, a 503).
/// `SharedHashingBudget` counts across the whole pool; `LocalHashingBudget` within one process.
public protocol HashingBudget: Sendable {
    /// Runs `work` while holding one slot (at `HashingPriority`), waiting at most the budget's
    /// bound for it.
    func withSlot<T>(_ work: () throws -> T) throws -> T
}

/// No hashing slot freed up within the wait bound: the service answers 503 with `Retry-After`.
public struct HashingBudgetExhausted: Error, Equatable {
    public init() {}
}

/// A process-local budget (a condition variable), for a process without the pool's run
/// directory; a pool uses `SharedHashingBudget`.
public final class LocalHashingBudget: HashingBudget, @unchecked Sendable {
    // @unchecked: `free` is only touched under `condition`.
    private let condition = NSCondition()
    private var free: Int
    private let wait: TimeInterval
    private let priority: HashingPriority

    package init(slots: Int, wait: TimeInterval, priority: HashingPriority = HashingPriority()) {
        self.free = slots
        self.wait = wait
        self.priority = priority
    }

    public func withSlot<T>(_ work: () throws -> T) throws -> T {
        let deadline = Date().addingTimeInterval(wait)
        condition.lock()
        while free == 0 {
            guard condition.wait(until: deadline) || free > 0 else {
                condition.unlock()
                throw HashingBudgetExhausted()
            }
        }
        free -= 1
        condition.unlock()
        defer {
            condition.lock()
            free += 1
            condition.signal()
            condition.unlock()
        }
        return try priority.raised(work)
    }
}
