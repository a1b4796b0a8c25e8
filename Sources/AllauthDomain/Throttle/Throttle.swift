import AllauthRuntime
import AllauthStore
import Crypto
import Foundation

/// Sliding-window rate limits kept in the database, so that every worker process (and every host
/// on a shared PostgreSQL) sees the same counts.
public struct Throttle {
    let db: any SQLConnection
    let settings: ThrottleSettings

    public init(_ db: any SQLConnection, settings: ThrottleSettings) {
        self.db = db
        self.settings = settings
    }

    /// The units taken by `consume`, to give back (e.g. a login that turned out to be correct).
    public struct Reservation {
        var rowIDs: [Int64]
    }

    public enum Decision {
        case allowed(Reservation)
        /// Seconds until a unit frees up (at least 1).
        case limited(retryAfter: Int)
    }

    /// A bucket name that doesn't store the raw key (an e-mail address, say).
    public static func bucket(_ scope: String, _ key: String) -> String {
        scope + ":" + SHA256.hash(data: Array(key.utf8)).prefix(12).map { String(format: "%02x", $0) }.joined()
    }

    /// Takes one unit from each bucket, or none if any of them is full. One write transaction, with
    /// each bucket's writers serialised (`serializeWriters`, in sorted order so two requests never
    /// wait for each other crosswise), so concurrent requests cannot all pass the check.
    public func consume(_ buckets: [(bucket: String, rate: Rate?)], now: Double = Date().timeIntervalSince1970) throws -> Decision {
        let active = buckets.compactMap { item in item.rate.map { (item.bucket, $0) } }
        guard settings.enabled, !active.isEmpty else { return .allowed(Reservation(rowIDs: [])) }
        return try db.transaction(.write) { () throws -> Decision in
            for bucket in Set(active.map(\.0)).sorted() { try db.serializeWriters(on: "throttle " + bucket) }
            var longestWait = 0.0
            for (bucket, rate) in active {
                try db.run("DELETE FROM throttle_hits WHERE bucket = ? AND at <= ?", [.text(bucket), .real(now - rate.window)])
                let limit = max(1, Int((Double(rate.count) * settings.scale).rounded(.down)))
                var hits: [Double] = []
                try db.query("SELECT at FROM throttle_hits WHERE bucket = ? ORDER BY at", [.text(bucket)]) { hits.append($0.double(0)) }
                if hits.count >= limit {
                    // The oldest hit that must expire before one more fits.
                    let freeAt = hits[hits.count - limit] + rate.window
                    longestWait = max(longestWait, freeAt - now)
                }
            }
            if longestWait > 0 { return .limited(retryAfter: max(1, Int(longestWait.rounded(.up)))) }
            var rowIDs: [Int64] = []
            for (bucket, _) in active {
                rowIDs.append(try db.first("INSERT INTO throttle_hits (bucket, at) VALUES (?, ?) RETURNING \(db.dialect.rowID)",
                                           [.text(bucket), .real(now)]) { $0.int(0) } ?? 0)
            }
            return .allowed(Reservation(rowIDs: rowIDs))
        }
    }


    /// Gives back the units of a reservation.
    public func release(_ reservation: Reservation) throws {
        for rowID in reservation.rowIDs {
            try db.run("DELETE FROM throttle_hits WHERE \(db.dialect.rowID) = ?", [.integer(rowID)])
        }
    }

    /// Runs `hashing`; if the pool is too busy to hash (`HashingBudgetExhausted`, a 503), gives the
    /// units of `reservation` back first: a request refused for load is no attempt, and a client
    /// retrying after `Retry-After` must not find itself throttled for it.
    package func refundingOnOverload<T>(_ reservation: Reservation, _ hashing: () throws -> T) throws -> T {
        do {
            return try hashing()
        } catch let busy as HashingBudgetExhausted {
            try release(reservation)
            throw busy
        }
    }

    /// Deletes hits older than any window can need.
    @discardableResult
    public static func purge(_ db: any SQLConnection, olderThan cutoff: Double) throws -> Int {
        try db.run("DELETE FROM throttle_hits WHERE at < ?", [.real(cutoff)])
    }
}
