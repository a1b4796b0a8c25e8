import AllauthStore
import Foundation

/// How long a reset or set-password capability lives once its link is followed: as long as the
/// cookie that carries it (`cookies.password_reset_max_age`, `cookies.password_set_max_age`).
public struct CapabilityLifetimes: Sendable {
    public var passwordReset: TimeInterval
    public var passwordSet: TimeInterval

    public init(passwordReset: TimeInterval, passwordSet: TimeInterval) {
        self.passwordReset = passwordReset
        self.passwordSet = passwordSet
    }
}

/// What presenting a capability cookie with a new password did.
package enum CapabilityOutcome {
    /// The password is set; `signIn` is the caller's new session, or the MFA challenge (or setup
    /// challenge) the account owes first: mail control alone is not full access.
    case passwordSet(UserRecord, signIn: SignInOutcome)
    /// Spent, superseded, expired or unknown capability, or an inactive account.
    case invalid
}

/// Spends a reset or set-password capability (`password/reset/set-new/`,
/// `registration/set-password/`). Unlike the reference, the new password is validated before
/// anything is spent, and the capability is spent in the same transaction as the change
/// (docs/api.md, differences): a typo costs the user nothing, a crash leaves nothing half-done.
package struct CapabilityRedemption {
    let db: any SQLConnection
    let accounts: AccountSettings
    let mfa: MFASettings
    let issuer: SessionIssuer

    /// The account a live capability belongs to, if it is active; spends nothing.
    package func holder(of capability: String, _ purpose: TokenPurpose, now: Int64) throws -> UserRecord? {
        guard let (userID, _) = try OneTimeTokens(db).find(capability, purposes: [purpose], now: now),
              let user = try UserStore(db).find(id: userID), user.isActive else { return nil }
        return user
    }

    /// Spends the capability and sets the password (already validated and hashed by the caller).
    package func redeem(_ capability: String, _ purpose: TokenPurpose, passwordHash: String, device: DeviceInfo, now: Int64) throws -> CapabilityOutcome {
        let tokens = OneTimeTokens(db)
        // One write transaction: of two requests with one capability exactly one spends it, and the
        // account is re-read under the lock (a deactivation in between wins). Durable: the old
        // password stops working.
        return try db.transaction(.accessChange) { () throws -> CapabilityOutcome in
            let users = UserStore(db)
            guard let userID = try tokens.consume(capability, purpose, now: now),
                  var user = try users.findLocked(id: userID), user.isActive
            else { return .invalid }
            if purpose == .passwordSetAccess {
                // The invitation is accepted: its link and every capability it handed over stop
                // working even without revocation.
                try tokens.revoke(.invitation, userID: user.id)
                try tokens.revoke(.emailConfirmation, userID: user.id)
                try tokens.revoke(.passwordSetAccess, userID: user.id)
            }
            if !user.emailVerified {
                // Whoever holds the capability read the mailbox: the address is confirmed. A reset
                // of an unconfirmed account is its owner taking it over from whoever signed it up
                // (allauth's behaviour), so nothing that sign-up added survives: its sessions, its
                // second factors and its provider connections.
                try users.markVerified(userID: user.id)
                try OneTimeTokens(db).revoke(.emailConfirmation, userID: user.id)
                if purpose == .passwordResetAccess { try dropWaysIn(userID: user.id) }
                user.emailVerified = true
            }
            try CredentialChange(db: db, accounts: accounts).apply(to: user, passwordHash: passwordHash)
            // A reset or an accepted invitation always ends signed in (or at the second factor),
            // revocation or not.
            return .passwordSet(user, signIn: try SignIn(db: db, mfa: mfa, issuer: issuer).finish(user, device: device, now: now))
        }
    }

    /// Every session, second factor, MFA challenge and provider connection of the account.
    private func dropWaysIn(userID: Int64) throws {
        try Whitelist(db).revoke(userID: userID)
        let challenges = ChallengeStore(db: db)
        try challenges.deleteAll(userID: userID)
        try challenges.clearFailures(userID: userID)
        try AuthenticatorStore(db).removeAll(userID: userID)
        try SocialAccounts(db).deleteAll(userID: userID)
    }
}
