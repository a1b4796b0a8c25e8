import Foundation

/// What following a password-reset link did.
enum ResetLinkOutcome {
    /// The link is spent; `capability` goes into the reset cookie.
    case opened(capability: String)
    /// Unknown, expired, used or superseded link, or an inactive account: one answer for all.
    case invalid
}

/// The mail half of a password reset (reference §2.7, §2.8, §3.10): the request and the link.
/// Links are opaque random tokens stored hashed, single-use, and only the latest one per account
/// works. The capability the link hands over is spent by `CapabilityRedemption`.
struct PasswordReset {
    let db: any SQLConnection
    let config: Config
    let mailer: AccountMailer

    /// Queues a reset mail if the address belongs to an active, verified account that has a
    /// password; does nothing otherwise. The caller answers the same either way.
    func request(email: String, now: Int64) throws {
        let users = UserStore(db)
        try db.transaction(.immediate) {
            guard let user = try users.find(email: email), user.isActive, user.emailVerified, user.hasUsablePassword else { return }
            let token = try OneTimeTokens(db).issue(.passwordReset, userID: user.id, now: now, lifetime: config.accounts.passwordResetTimeout)
            try mailer.sendPasswordReset(to: user, token: token, now: now)
        }
    }

    /// Spends the link `uid`/`token` and issues the reset capability, replacing any earlier one.
    func open(uid: String, token: String, now: Int64) throws -> ResetLinkOutcome {
        guard let decoded = Base64URL.decode(uid), decoded.count <= 20,
              let userID = Int64(String(decoding: decoded, as: UTF8.self)) else { return .invalid }
        let tokens = OneTimeTokens(db)
        // One transaction: the link is spent and the capability stored together, and of two
        // clicks at once only one spends the link.
        return try db.transaction(.immediate) { () throws -> ResetLinkOutcome in
            guard let holder = try tokens.find(token, purposes: [.passwordReset], now: now), holder.userID == userID,
                  let user = try UserStore(db).find(id: userID), user.isActive,
                  try tokens.consume(token, .passwordReset, now: now) != nil
            else { return .invalid }
            let capability = try tokens.issue(.passwordResetAccess, userID: user.id, now: now,
                                              lifetime: TimeInterval(config.cookies.passwordReset.maxAge ?? 3600))
            return .opened(capability: capability)
        }
    }
}
