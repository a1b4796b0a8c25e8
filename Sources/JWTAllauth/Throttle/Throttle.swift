import Crypto
import Foundation

/// Sliding-window rate limits kept in SQLite, so that every worker process sees the same counts.
public struct Throttle {
    let db: Database
    let settings: Config.Throttle

    public init(_ db: Database, settings: Config.Throttle) {
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

    /// Takes one unit from each bucket, or none if any of them is full. One `BEGIN IMMEDIATE`
    /// transaction so that concurrent requests in several workers cannot all pass the check.
    public func consume(_ buckets: [(bucket: String, rate: Config.Rate?)], now: Double = Date().timeIntervalSince1970) throws -> Decision {
        let active = buckets.compactMap { item in item.rate.map { (item.bucket, $0) } }
        guard settings.enabled, !active.isEmpty else { return .allowed(Reservation(rowIDs: [])) }
        return try db.transaction(.immediate) { () throws -> Decision in
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
                try db.run("INSERT INTO throttle_hits (bucket, at) VALUES (?, ?)", [.text(bucket), .real(now)])
                rowIDs.append(db.lastInsertID)
            }
            return .allowed(Reservation(rowIDs: rowIDs))
        }
    }

    /// Gives back the units of a reservation.
    public func release(_ reservation: Reservation) throws {
        for rowID in reservation.rowIDs {
            try db.run("DELETE FROM throttle_hits WHERE rowid = ?", [.integer(rowID)])
        }
    }

    /// Deletes hits older than any window can need.
    @discardableResult
    public static func purge(_ db: Database, olderThan cutoff: Double) throws -> Int {
        try db.run("DELETE FROM throttle_hits WHERE at < ?", [.real(cutoff)])
    }
}
