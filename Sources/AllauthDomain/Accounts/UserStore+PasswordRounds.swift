import AllauthRuntime
/// The one question about the users table that password timing needs (`StoredRoundsCeiling`).
extension UserStore {
    /// The highest round count among the stored `pbkdf2_sha256` hashes that `PasswordHasher`
    /// checks (at most `PasswordHasher.maximumRounds`), 0 when there is none. Reads every row: it
    /// runs once a minute per worker, not per request.
    func highestPasswordRounds() throws -> Int {
        let sql = switch db.engine {
        case .sqlite:
            // The count sits between the 14-character "pbkdf2_sha256$" and the next "$".
            """
            SELECT MAX(rounds) FROM (
                SELECT CAST(substr(password, 15, instr(substr(password, 15), '$') - 1) AS INTEGER) AS rounds
                FROM users WHERE substr(password, 1, 14) = 'pbkdf2_sha256$'
            ) AS stored WHERE rounds <= ?
            """
        case .postgreSQL:
            // A cast of something that is no number would fail the query: digits only.
            """
            SELECT MAX(rounds) FROM (
                SELECT CASE WHEN field ~ '^[0-9]{1,9}$' THEN CAST(field AS BIGINT) END AS rounds FROM (
                    SELECT split_part(password, '$', 2) AS field FROM users WHERE substr(password, 1, 14) = 'pbkdf2_sha256$'
                ) AS fields
            ) AS stored WHERE rounds <= ?
            """
        }
        let highest = try db.first(sql, [.integer(Int64(PasswordHasher.maximumRounds))]) { $0.optionalInt(0) }
        return Int(highest.flatMap { $0 } ?? 0)
    }
}
