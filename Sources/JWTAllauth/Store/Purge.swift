import Foundation

/// Deletes rows nobody can use any more: expired refresh tokens, expired one-time tokens and
/// throttle counters older than a day (longer than any window), and outbox rows sent or failed
/// more than 30 days ago; expired MFA challenges and setup secrets, and MFA failures over 30 days old.
public struct Purge {
    public struct Report: Equatable {
        public var refreshTokens = 0
        public var oneTimeTokens = 0
        public var throttleHits = 0
        public var sentMail = 0
        /// Expired MFA challenges and setup secrets, and second-factor failures past any lockout window.
        public var mfaRows = 0
        public var total: Int { refreshTokens + oneTimeTokens + throttleHits + sentMail + mfaRows }
    }

    let db: any SQLConnection

    public init(_ db: any SQLConnection) { self.db = db }

    public func run(now: Int64, dryRun: Bool) throws -> Report {
        let throttleCutoff = Double(now - 86400)
        let mailCutoff = now - 30 * 86400
        let statements: [(count: String, delete: String, bindings: [SQLValue], keyPath: WritableKeyPath<Report, Int>)] = [
            ("SELECT COUNT(*) FROM refresh_tokens WHERE expires <= ?", "DELETE FROM refresh_tokens WHERE expires <= ?", [.integer(now)], \.refreshTokens),
            ("SELECT COUNT(*) FROM one_time_tokens WHERE expires <= ?", "DELETE FROM one_time_tokens WHERE expires <= ?", [.integer(now)], \.oneTimeTokens),
            ("SELECT COUNT(*) FROM throttle_hits WHERE at < ?", "DELETE FROM throttle_hits WHERE at < ?", [.real(throttleCutoff)], \.throttleHits),
            ("SELECT COUNT(*) FROM outbox WHERE COALESCE(sent_at, failed_at) <= ?",
             "DELETE FROM outbox WHERE COALESCE(sent_at, failed_at) <= ?", [.integer(mailCutoff)], \.sentMail),
            ("SELECT COUNT(*) FROM mfa_challenges WHERE expires <= ?", "DELETE FROM mfa_challenges WHERE expires <= ?", [.integer(now)], \.mfaRows),
            ("SELECT COUNT(*) FROM mfa_setup_secrets WHERE expires <= ?", "DELETE FROM mfa_setup_secrets WHERE expires <= ?", [.integer(now)], \.mfaRows),
            // A lockout window is configurable; thirty days outlasts any sensible one.
            ("SELECT COUNT(*) FROM mfa_failures WHERE at < ?", "DELETE FROM mfa_failures WHERE at < ?", [.real(Double(mailCutoff))], \.mfaRows),
        ]
        var report = Report()
        try db.transaction {
            for statement in statements {
                report[keyPath: statement.keyPath] += dryRun
                    ? Int(try db.first(statement.count, statement.bindings) { $0.int(0) } ?? 0)
                    : try db.run(statement.delete, statement.bindings)
            }
        }
        return report
    }
}
