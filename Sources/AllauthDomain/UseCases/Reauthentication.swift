import AllauthStore
import Foundation

/// What `reauthenticate/` did.
package enum ReauthenticationOutcome: Equatable {
    /// The session may add ways into the account until `until` (seconds since 1970).
    case reauthenticated(until: Int64)
    case wrongPassword
    /// The account has a second factor and no code (or a malformed one) came with the password.
    case codeRequired
    case wrongCode
    /// Too many wrong second factors recently (the MFA per-user budget).
    case lockedOut(retryAfter: Int)
}

/// The one mechanism for "this needs a recent reauthentication" (allauth's `reauthenticate`):
/// anything that adds a way into an account (a TOTP enrolment, a social connection, and what
/// comes later: passkeys, e-mail change, account deletion, the admin console) asks for
/// `requireRecent`, so a stolen access token alone cannot take the account for good.
/// Kept per session (the access token's `session`), for `accounts.reauthentication_timeout`.
/// All of `reauthentications`' SQL is here, but for `Purge`'s expiry rule.
package struct Reauthentication {
    let db: any SQLConnection
    let accounts: AccountSettings
    let mfa: MFASettings

    /// Checks the password (already verified by the caller: hashing is slow and stays outside any
    /// transaction) and, for an account with TOTP, `factor`; then marks the session.
    package func confirm(_ principal: Principal, passwordMatches: Bool, factor: SecondFactor?, key: MFAKey?, now: Int64) throws -> ReauthenticationOutcome {
        guard passwordMatches else { return .wrongPassword }
        return try db.transaction(.write) { () throws -> ReauthenticationOutcome in
            let authenticators = AuthenticatorStore(db)
            if mfa.mode != .disabled, let key, try authenticators.hasTOTP(userID: principal.userID) {
                guard let factor else { return .codeRequired }
                let challenges = ChallengeStore(db: db)
                try challenges.lockSecondFactors(userID: principal.userID)
                let budget = MFABudget(db: db, settings: mfa)
                if let retryAfter = try budget.lockedFor(userID: principal.userID, now: Double(now)) { return .lockedOut(retryAfter: retryAfter) }
                guard case .accepted = try authenticators.check(factor, userID: principal.userID, key: key, now: now) else {
                    // Counted in the same per-user window as a login challenge's failures.
                    try challenges.addFailure(userID: principal.userID, at: Double(now))
                    if let retryAfter = try budget.lockedFor(userID: principal.userID, now: Double(now)) { return .lockedOut(retryAfter: retryAfter) }
                    return .wrongCode
                }
            }
            try db.run("""
                INSERT INTO reauthentications (session, user_id, at) VALUES (?, ?, ?)
                ON CONFLICT (session) DO UPDATE SET user_id = excluded.user_id, at = excluded.at
                """, [.text(principal.session), .integer(principal.userID), .integer(now)])
            return .reauthenticated(until: now + Int64(accounts.reauthenticationTimeout))
        }
    }

    /// Forgets every reauthentication of the account (its deletion).
    func forget(userID: Int64) throws {
        try db.run("DELETE FROM reauthentications WHERE user_id = ?", [.integer(userID)])
    }

    /// Whether the principal's session reauthenticated within the timeout and is still live (a
    /// revoked session's access token keeps nothing it had).
    package func isRecent(_ principal: Principal, now: Int64) throws -> Bool {
        let since = now - Int64(accounts.reauthenticationTimeout)
        let marked = try db.first("SELECT 1 FROM reauthentications WHERE session = ? AND user_id = ? AND at > ?",
                                  [.text(principal.session), .integer(principal.userID), .integer(since)]) { _ in true } ?? false
        return try marked && Whitelist(db).isLive(session: principal.session)
    }
}
