import AllauthStore
import Foundation

/// What a link from a confirmation or invitation mail is, before anything is done with it.
package enum ConfirmationLink {
    /// A live sign-up confirmation key for this account's address.
    case confirmation(UserRecord)
    /// A live invitation key for this invitee.
    case invitation(UserRecord)
    /// Unknown, expired, used or superseded key, or an inactive account: one failure for all.
    case invalid
}

/// What following a link from a confirmation or invitation mail did.
package enum ConfirmationOutcome {
    /// The address is confirmed and the account's waiting sign-up sessions are enabled.
    case confirmed(UserRecord)
    /// An invitee followed their link; `capability` lets them set their first password.
    case invitationAccepted(UserRecord, capability: String)
    /// Unknown, expired, used or superseded key, or an inactive account: one failure for all.
    case failed
}

/// `registration/verification/<key>/` (docs/api.md, differences): a
/// confirmation key works once; an invitation key works until the invitee has set a password, and
/// each use hands over a set-password capability of its own (none replaces another), so neither a
/// lost cookie nor a mail scanner's fetch is a dead end.
///
/// Confirming is a POST from the page the link's GET shows (allauth's default), unless
/// `accounts.confirm_email_on_get` keeps the reference's GET: a scanner that fetches every link in
/// a mail would otherwise confirm a stranger's sign-up of somebody else's address.
package struct EmailConfirmation {
    let db: any SQLConnection
    let capabilities: CapabilityLifetimes

    /// What the key opens; reads only.
    package func inspect(key: String, now: Int64) throws -> ConfirmationLink {
        guard let (userID, purpose) = try OneTimeTokens(db).find(key, purposes: [.emailConfirmation, .invitation], now: now),
              let user = try UserStore(db).find(id: userID), user.isActive
        else { return .invalid }
        return purpose == .invitation && !user.hasUsablePassword ? .invitation(user) : .confirmation(user)
    }

    package func follow(key: String, now: Int64) throws -> ConfirmationOutcome {
        let users = UserStore(db)
        let tokens = OneTimeTokens(db)
        // One transaction: the key is spent, the address confirmed and the sessions enabled together,
        // and two clicks at once cannot both spend it.
        return try db.transaction(.write) { () throws -> ConfirmationOutcome in
            guard let (userID, purpose) = try tokens.find(key, purposes: [.emailConfirmation, .invitation], now: now),
                  let user = try users.find(id: userID), user.isActive
            else { return .failed }
            if purpose == .emailConfirmation || user.hasUsablePassword {
                guard try tokens.consume(key, purpose, now: now) != nil else { return .failed }
                try users.markVerified(userID: user.id)
                try Whitelist(db).enable(userID: user.id)
                var confirmed = user
                confirmed.emailVerified = true
                return .confirmed(confirmed)
            }
            // The invitee's address is confirmed when the password is set (`CapabilityRedemption`).
            let capability = try tokens.issue(.passwordSetAccess, userID: user.id, now: now,
                                              lifetime: capabilities.passwordSet, replacing: false)
            return .invitationAccepted(user, capability: capability)
        }
    }
}
