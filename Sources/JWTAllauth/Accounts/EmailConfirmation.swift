import Foundation

/// What following a link from a confirmation or invitation mail did.
enum ConfirmationOutcome {
    /// The address is confirmed and the account's waiting sign-up sessions are enabled.
    case confirmed(UserRecord)
    /// An invitee's address is confirmed; `capability` lets them set their first password.
    case invitationAccepted(UserRecord, capability: String)
    /// Unknown, expired, used or superseded key, or an inactive account: one failure for all.
    case failed
}

/// `GET registration/verification/<key>/` (reference §2.12, SPEC "Deliberate differences"):
/// a confirmation key works once; an invitation key works until the invitee has set a password
/// (each use supersedes the previous set-password capability), so a lost cookie is not a dead end.
struct EmailConfirmation {
    let db: any SQLConnection
    let config: Config

    func follow(key: String, now: Int64) throws -> ConfirmationOutcome {
        let users = UserStore(db)
        let tokens = OneTimeTokens(db)
        // One transaction: the key is spent, the address confirmed and the sessions enabled together,
        // and two clicks at once cannot both spend it.
        return try db.transaction(.immediate) { () throws -> ConfirmationOutcome in
            guard let (userID, purpose) = try tokens.find(key, purposes: [.emailConfirmation, .invitation], now: now),
                  let user = try users.find(id: userID), user.isActive
            else { return .failed }
            try users.markVerified(userID: user.id)
            var confirmed = user
            confirmed.emailVerified = true
            if purpose == .emailConfirmation || user.hasUsablePassword {
                guard try tokens.consume(key, purpose, now: now) != nil else { return .failed }
                try Whitelist(db).enable(userID: user.id)
                return .confirmed(confirmed)
            }
            let capability = try tokens.issue(.passwordSetAccess, userID: user.id, now: now,
                                              lifetime: TimeInterval(config.cookies.passwordSet.maxAge ?? 86400))
            return .invitationAccepted(confirmed, capability: capability)
        }
    }
}
