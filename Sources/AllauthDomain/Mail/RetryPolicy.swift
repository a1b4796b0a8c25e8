/// When a failed mail is tried again: `retryDelay` after the first failure, doubling after each
/// further one up to `retryMaxDelay`, and never after `maxAttempts` tries.
public struct RetryPolicy: Sendable {
    public var maxAttempts: Int
    public var delay: Int64
    public var maxDelay: Int64

    public init(_ settings: MailSettings) {
        maxAttempts = settings.maxAttempts
        delay = Int64(settings.retryDelay.rounded(.up))
        maxDelay = Int64(settings.retryMaxDelay.rounded(.up))
    }

    /// When attempt number `attempt` (1-based) failed at `now`: the next try, or nil to give up.
    public func nextAttempt(after attempt: Int, now: Int64) -> Int64? {
        guard attempt < maxAttempts else { return nil }
        var wait = delay
        for _ in 1..<max(attempt, 1) where wait < maxDelay { wait *= 2 }
        return now + min(wait, maxDelay)
    }
}
