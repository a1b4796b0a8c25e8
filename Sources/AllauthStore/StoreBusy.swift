/// A wait for the store ran past `database.busy_timeout`: a lock held by another writer, by a
/// stopped or stuck process, or by a long job. Transient, so a request answers 503 with
/// `Retry-After` (`APIError.busy`) and its thread is free again; engines other than SQLite throw
/// it for their own lock timeouts, so the mapping stays in one place.
public struct StoreBusy: Error, CustomStringConvertible {
    /// What was waited for: "the writer lock", "SQLite's lock".
    public var waitedFor: String
    public var timeout: Double

    public var description: String { "store busy: waited \(timeout) s for \(waitedFor) (database.busy_timeout)" }
}
