import AllauthStore
import Foundation

/// What an operator does to accounts from the command line (`jwt-allauth invite`,
/// `verify-email`, `deactivate`, `mfa-remove`). Invitations go through `Invitations`, as the API's do.
public struct AccountAdministration {
    let db: any SQLConnection
    let accounts: AccountSettings
    let mail: AccountMailSettings
    let templates: TemplateSettings

    public init(_ db: any SQLConnection, accounts: AccountSettings, mail: AccountMailSettings, templates: TemplateSettings) {
        self.db = db
        self.accounts = accounts
        self.mail = mail
        self.templates = templates
    }

    /// Creates the invited account and queues its invitation mail.
    public func invite(_ invitee: Invitee, now: Int64 = Int64(Date().timeIntervalSince1970)) throws -> InvitationOutcome {
        let mailer = AccountMailer(settings: mail, templates: try TemplateLibrary(templates), outbox: Outbox(db))
        return try Invitations(db: db, accounts: accounts, mailer: mailer).invite(invitee, by: .operator, now: now)
    }

    public enum Failure: Error, Equatable { case noSuchAccount }

    /// Marks the address verified and enables sign-up sessions waiting for it.
    public func verifyEmail(_ email: String) throws {
        try db.transaction(.write) {
            guard let user = try UserStore(db).find(email: email) else { throw Failure.noSuchAccount }
            try UserStore(db).markVerified(userID: user.id)
            try OneTimeTokens(db).revoke(.emailConfirmation, userID: user.id)
            try Whitelist(db).enable(userID: user.id)
        }
    }

    /// Deactivates the account and revokes everything it holds: sessions, links and capabilities.
    /// Answers the number of refresh tokens revoked. One durable transaction, so no session survives the flag.
    @discardableResult
    public func deactivate(_ email: String) throws -> Int {
        try db.transaction(.accessChange) { () throws -> Int in
            guard let user = try UserStore(db).find(email: email) else { throw Failure.noSuchAccount }
            try UserStore(db).setActive(userID: user.id, false)
            try OneTimeTokens(db).revokeAll(userID: user.id)
            return try Whitelist(db).revoke(userID: user.id)
        }
    }

    /// Removes the account's second factors (a lost phone) with its challenges and failure
    /// history, and revokes every session, in one transaction: whoever holds the phone and an old
    /// session loses both together. Durable, as every revocation. Answers the number of authenticators removed.
    @discardableResult
    public func removeMFA(_ email: String) throws -> Int {
        try db.transaction(.accessChange) { () throws -> Int in
            guard let user = try UserStore(db).find(email: email) else { throw Failure.noSuchAccount }
            let challenges = ChallengeStore(db: db)
            try challenges.deleteAll(userID: user.id)
            try challenges.clearFailures(userID: user.id)
            try Whitelist(db).revoke(userID: user.id)
            return try AuthenticatorStore(db).removeAll(userID: user.id)
        }
    }
}
