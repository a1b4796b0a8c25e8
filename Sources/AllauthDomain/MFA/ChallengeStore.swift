import AllauthStore
import Crypto
import Foundation

/// Which step a challenge id opens: a login waiting for its second factor, or an account that
/// must enrol before it gets a session (`required` mode).
package enum ChallengeKind: String {
    case login
    case setup
}

/// SQL for MFA challenges and the per-user failure history. Challenge ids are stored as SHA-256
/// digests (a copy of the database opens no pending login) and looked up by digest through the
/// primary key, so no constant-time comparison is needed. Runs in the caller's transaction.
package struct ChallengeStore {
    let db: any SQLConnection

    package init(db: any SQLConnection) {
        self.db = db
    }

    /// 128 random bits as 32 lower-case hex characters: the reference's shape.
    package static func newIdentifier() -> String { TokenService.newIdentifier() }

    private static func digest(_ id: String) -> String {
        SHA256.hash(data: Array(id.utf8)).map { String(format: "%02x", $0) }.joined()
    }

    /// Stores a new challenge for `userID` and answers its id; the user's expired ones go first.
    func issue(_ kind: ChallengeKind, userID: Int64, now: Int64, lifetime: TimeInterval) throws -> String {
        try db.run("DELETE FROM mfa_challenges WHERE user_id = ? AND expires <= ?", [.integer(userID), .integer(now)])
        let id = Self.newIdentifier()
        try db.run("INSERT INTO mfa_challenges (id_digest, user_id, kind, expires) VALUES (?, ?, ?, ?)",
                   [.text(Self.digest(id)), .integer(userID), .text(kind.rawValue), .integer(now + Int64(lifetime))])
        return id
    }

    /// The user and failure count of a live challenge of `kind`.
    package func find(_ id: String, kind: ChallengeKind, now: Int64) throws -> (userID: Int64, failures: Int)? {
        guard id.utf8.count == 32 else { return nil }
        return try db.first("SELECT user_id, failures FROM mfa_challenges WHERE id_digest = ? AND kind = ? AND expires > ?",
                            [.text(Self.digest(id)), .text(kind.rawValue), .integer(now)]) { ($0.int(0), Int($0.int(1))) }
    }

    /// Inside a write transaction: answers, enrolments and budget changes of one user's second
    /// factors wait for each other until it ends (the replay guard, single-use codes and the
    /// budgets hold across workers and hosts: `SQLConnection.serializeWriters`).
    func lockSecondFactors(userID: Int64) throws {
        try db.serializeWriters(on: "mfa user \(userID)")
    }

    /// Counts one failed answer to the challenge; answers the new count.
    func recordFailure(_ id: String) throws -> Int {
        try db.first("UPDATE mfa_challenges SET failures = failures + 1 WHERE id_digest = ? RETURNING failures",
                     [.text(Self.digest(id))]) { Int($0.int(0)) } ?? 0
    }

    func delete(_ id: String) throws {
        try db.run("DELETE FROM mfa_challenges WHERE id_digest = ?", [.text(Self.digest(id))])
    }

    /// Deletes the user's challenges (of one kind, or all): a lockout, a removed authenticator.
    func deleteAll(userID: Int64, kind: ChallengeKind? = nil) throws {
        if let kind {
            try db.run("DELETE FROM mfa_challenges WHERE user_id = ? AND kind = ?", [.integer(userID), .text(kind.rawValue)])
        } else {
            try db.run("DELETE FROM mfa_challenges WHERE user_id = ?", [.integer(userID)])
        }
    }

    // MARK: the per-user failure history (sliding window)

    func addFailure(userID: Int64, at now: Double) throws {
        try db.run("INSERT INTO mfa_failures (user_id, at) VALUES (?, ?)", [.integer(userID), .real(now)])
    }

    /// Times of the user's failures after `since`, oldest first; older rows are purged on the way.
    func failures(userID: Int64, since: Double) throws -> [Double] {
        try db.run("DELETE FROM mfa_failures WHERE user_id = ? AND at <= ?", [.integer(userID), .real(since)])
        var times: [Double] = []
        try db.query("SELECT at FROM mfa_failures WHERE user_id = ? ORDER BY at", [.integer(userID)]) { times.append($0.double(0)) }
        return times
    }

    func clearFailures(userID: Int64) throws {
        try db.run("DELETE FROM mfa_failures WHERE user_id = ?", [.integer(userID)])
    }
}
