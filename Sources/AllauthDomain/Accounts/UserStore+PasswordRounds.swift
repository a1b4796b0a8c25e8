import AllauthRuntime
import AllauthStore

/// The one question about the users table that password timing needs (`StoredRoundsCeiling`).
extension UserStore {
    /// The highest cost among the stored hashes that `PasswordHasher` checks, in rounds of
    /// PBKDF2-SHA256 (at most `PasswordHasher.maximumRounds` for those; an estimate from their
    /// parameters for an import's argon2, bcrypt, scrypt or pbkdf2_sha1 hashes), 0 when there is
    /// none. Reads every row: it runs once a minute per worker, not per request.
    func highestPasswordRounds() throws -> Int {
        // The count sits between the 14-character "pbkdf2_sha256$" and the next "$".
        let rounds = db.dialect.smallInteger(db.dialect.field("password", after: 14, upTo: "$"))
        let sql = """
            SELECT MAX(rounds) FROM (
                SELECT \(rounds) AS rounds FROM users WHERE substr(password, 1, 14) = 'pbkdf2_sha256$'
            ) AS stored WHERE rounds <= ?
            """
        let highest = try db.first(sql, [.integer(Int64(PasswordHasher.maximumRounds))]) { $0.optionalInt(0) }
        // The other hashers' rows are an import's accounts that have not logged in since (a login
        // replaces the hash); their cost is in parameters SQL cannot read alike in both engines
        // (scrypt's follow the salt), so they are decoded here.
        var foreign = 0
        try db.query("SELECT password FROM users WHERE substr(password, 1, 14) <> 'pbkdf2_sha256$' AND substr(password, 1, 1) <> '!'") {
            foreign = max(foreign, PasswordHasher.cost(of: $0.string(0)) ?? 0)
        }
        return max(Int(highest.flatMap { $0 } ?? 0), foreign)
    }
}
