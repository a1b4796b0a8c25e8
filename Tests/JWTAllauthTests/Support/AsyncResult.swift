import Foundation

/// A value computed on its own thread, waited for with a bound.
final class AsyncResult<T>: @unchecked Sendable {
    private let done = DispatchSemaphore(value: 0)
    private let lock = NSLock()
    private var result: T?
    private var finished = false

    init(_ body: @escaping () throws -> T) {
        nonisolated(unsafe) let body = body
        Thread { [self] in
            let value = try? body()
            lock.withLock { result = value; finished = true }
            done.signal()
        }.start()
    }

    var isDone: Bool { lock.withLock { finished } }

    /// The value, or nil if it failed or did not come within `timeout`.
    func wait(timeout: TimeInterval) -> T? {
        guard done.wait(timeout: .now() + timeout) == .success else { return nil }
        return lock.withLock { result }
    }
}
