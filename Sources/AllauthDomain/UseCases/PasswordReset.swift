import AllauthCore
import AllauthStore
import Foundation

/// What following a password-reset link did.
package enum ResetLinkOutcome {
    /// `capability` goes into the reset cookie; the link stays live until a new password is set.
    case opened(capability: String)
    /// Unknown, expired, used or superseded link, or an inactive account: one answer for all.
    case invalid
}

/// The mail half of a password reset (as in django-jwt-allauth): the request and the link.
/// Links are opaque random tokens stored hashed, and only the latest one per account works.
///
/// Unlike the reference, following a link spends nothing (docs/api.md, differences): a mail
/// scanner's pre-fetch must not leave the owner an "invalid link". Each GET hands over a capability
/// of its own (none replaces another), and the link with every capability made from it is spent by
/// the one successful `set-new/` (`CapabilityRedemption`, in its transaction).
package struct PasswordReset {
    let db: any SQLConnection
    let accounts: AccountSettings
    let capabilities: CapabilityLifetimes
    let mailer: AccountMailer

    /// Queues a reset mail if the address belongs to an active account that has a password; does
    /// nothing otherwise. The caller answers the same either way. An unconfirmed address gets its
    /// mail too (allauth's behaviour): a stranger's sign-up of it must not lock its owner out, and
    /// the reset confirms it (`CapabilityRedemption`).
    package func request(email: String, now: Int64) throws {
        let users = UserStore(db)
        try db.transaction(.write) {
            guard let user = try users.find(email: email), user.isActive, user.hasUsablePassword else { return }
            let token = try OneTimeTokens(db).issue(.passwordReset, userID: user.id, now: now, lifetime: accounts.passwordResetTimeout)
            try mailer.sendPasswordReset(to: user, token: token, now: now)
        }
    }

    /// Issues a reset capability for the live link `uid`/`token`, beside any earlier one.
    package func open(uid: String, token: String, now: Int64) throws -> ResetLinkOutcome {
        guard let decoded = Base64URL.decode(uid), decoded.count <= 20,
              let userID = Int64(String(decoding: decoded, as: UTF8.self)) else { return .invalid }
        let tokens = OneTimeTokens(db)
        return try db.transaction(.write) { () throws -> ResetLinkOutcome in
            guard let holder = try tokens.find(token, purposes: [.passwordReset], now: now), holder.userID == userID,
                  let user = try UserStore(db).find(id: userID), user.isActive
            else { return .invalid }
            // Not replacing: a scanner's fetch after the owner's click must not void the owner's form.
            let capability = try tokens.issue(.passwordResetAccess, userID: user.id, now: now,
                                              lifetime: capabilities.passwordReset, replacing: false)
            return .opened(capability: capability)
        }
    }
}
