import AllauthRuntime
import AllauthStore

/// The one question about the users table that password timing needs (`StoredRoundsCeiling`).
extension UserStore {
    /// The highest round count among the stored `pbkdf2_sha256` hashes that `PasswordHasher`
    /// checks (at most `PasswordHasher.maximumRounds`), 0 when there is none. Reads every row: it
    /// runs once a minute per worker, not per request.
    func highestPasswordRounds() throws -> Int {
        // The count sits between the 14-character "pbkdf2_sha256$" and the next "$".
        let rounds = db.dialect.smallInteger(db.dialect.field("password", after: 14, upTo: "$"))
        let sql = """
            SELECT MAX(rounds) FROM (
                SELECT \(rounds) AS rounds FROM users WHERE substr(password, 1, 14) = 'pbkdf2_sha256$'
            ) AS stored WHERE rounds <= ?
            """
        let highest = try db.first(sql, [.integer(Int64(PasswordHasher.maximumRounds))]) { $0.optionalInt(0) }
        return Int(highest.flatMap { $0 } ?? 0)
    }
}
