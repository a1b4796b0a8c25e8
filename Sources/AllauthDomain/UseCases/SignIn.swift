import AllauthStore
import Foundation

/// How a sign-in ends, once the first factor (password, reset link, invitation, social
/// provider) has been accepted.
public enum SignInOutcome {
    /// A new session: no second factor is owed.
    case session(IssuedSession)
    /// The account has TOTP: the client must answer `mfa/verify/` (or `verify-recovery/`) with this id.
    case mfaChallenge(id: String)
    /// `required` mode and no TOTP yet: the client must enrol through `mfa/setup/` and
    /// `mfa/activate/` with this id before any session exists.
    case mfaSetupChallenge(id: String)
    /// Too many failed second factors recently: no challenge until `retryAfter` seconds pass.
    case mfaLockedOut(retryAfter: Int)
}

/// The one decision every way into an account ends with: session, MFA challenge or MFA setup
/// challenge. Login, sign-up, invitation set-password, password reset and social login all call
/// `finish`, so no path can hand out a session that skips the second factor.
public struct SignIn {
    let db: any SQLConnection
    let mfa: MFASettings
    let issuer: SessionIssuer

    /// Runs in the caller's write transaction, after the first factor and the account's state
    /// (active, verified) have been checked. `enabled: false` opens a sign-up session that waits for
    /// the confirmation link. Records the login when a session is opened.
    public func finish(_ user: UserRecord, device: DeviceInfo, now: Int64, enabled: Bool = true) throws -> SignInOutcome {
        let mode = mfa.mode
        if mode != .disabled {
            let challenges = ChallengeStore(db: db)
            if try AuthenticatorStore(db).hasTOTP(userID: user.id) {
                if let retryAfter = try MFABudget(db: db, settings: mfa).lockedFor(userID: user.id, now: Double(now)) {
                    return .mfaLockedOut(retryAfter: retryAfter)
                }
                return .mfaChallenge(id: try challenges.issue(.login, userID: user.id, now: now, lifetime: mfa.challengeLifetime))
            }
            if mode == .required {
                return .mfaSetupChallenge(id: try challenges.issue(.setup, userID: user.id, now: now, lifetime: mfa.challengeLifetime))
            }
        }
        return .session(try openSession(user, device: device, now: now, enabled: enabled))
    }

    /// The session at the end of a completed second factor (or of no second factor at all).
    func openSession(_ user: UserRecord, device: DeviceInfo, now: Int64, enabled: Bool = true) throws -> IssuedSession {
        if enabled { try UserStore(db).recordLogin(userID: user.id, at: now) }
        return try issuer.open(for: user, enabled: enabled, device: device, now: now, whitelist: Whitelist(db))
    }
}
