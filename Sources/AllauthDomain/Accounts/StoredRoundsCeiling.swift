import AllauthRuntime
import AllauthStore
import Foundation
import Synchronization

/// The highest cost of a hash stored in the users table, in PBKDF2-SHA256 rounds (estimated for an
/// import's other hashers: `DjangoPasswordHash.cost`), remembered per worker process (and per store)
/// for a minute. A failed login costs this many rounds, an unknown address included: otherwise a
/// wrong password on an account whose hash is dearer than the configured cost (a Django import with
/// more rounds or Django's argon2, or hashes from before `accounts.password_iterations` was lowered)
/// would answer more slowly than any other failure, and tell that the account exists. Such a hash
/// is replaced by one of the configured cost at its next successful login, so the ceiling comes
/// down as those accounts log in.
package final class StoredRoundsCeiling: Sendable {
    /// The one every request of this process uses.
    package static let shared = StoredRoundsCeiling(lifetime: 60)

    private struct Reading {
        var rounds: Int
        var readAt: TimeInterval
        /// A thread is reading it again: the others go on with this value meanwhile.
        var refreshing = false
    }

    /// The value is read again after `lifetime` seconds: what a new import's dearer hashes may stand out for, at most.
    let lifetime: TimeInterval
    private let readings = Mutex<[String: Reading]>([:])

    init(lifetime: TimeInterval) { self.lifetime = lifetime }

    /// The ceiling for `store`, read through `users` when missing or older than `lifetime`.
    /// `seen`: the hash of the account this request is about, which raises the ceiling at once if
    /// it is dearer than the remembered one (an import since the last reading).
    package func rounds(_ users: UserStore, store: StoreLocation, seen hash: String? = nil, now: TimeInterval = Date().timeIntervalSince1970) throws -> Int {
        let key = switch store {
        case .sqlite(let path): "sqlite:" + path
        case .postgreSQL(let url, _): url
        }
        let seen = hash.flatMap(PasswordHasher.cost(of:)) ?? 0
        let remembered = readings.withLock { readings -> Int? in
            guard var reading = readings[key] else { return nil }
            reading.rounds = max(reading.rounds, seen)
            let stale = now - reading.readAt >= lifetime && !reading.refreshing
            reading.refreshing = reading.refreshing || stale
            readings[key] = reading
            return stale ? nil : reading.rounds
        }
        if let remembered { return remembered }
        let read: Int
        do {
            read = max(try users.highestPasswordRounds(), seen)
        } catch {
            readings.withLock { readings in readings[key]?.refreshing = false }
            throw error
        }
        readings.withLock { readings in readings[key] = Reading(rounds: read, readAt: now) }
        return read
    }
}
