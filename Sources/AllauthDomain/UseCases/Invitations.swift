import AllauthRuntime
import AllauthStore
import Foundation

/// An invitation as an administrator (or the CLI) asks for it, already validated.
public struct Invitee: Sendable {
    public var email: String
    public var role: Int
    public var firstName: String
    public var lastName: String

    public init(email: String, role: Int, firstName: String = "", lastName: String = "") {
        self.email = email
        self.role = role
        self.firstName = firstName
        self.lastName = lastName
    }
}

/// Who asks for an invitation.
public enum Inviter: Sendable {
    /// An account over the API: its row's current role decides what it may do.
    case account(Principal)
    /// The operator at the command line (`jwt-allauth invite`), who may invite any role.
    case `operator`
}

public enum InvitationOutcome: Equatable {
    case invited(userID: Int64)
    /// The address belongs to an established account (always reported: the caller is an admin).
    case emailTaken
    /// The inviter's current role is not among `accounts.registration_allowed_roles`.
    case notAllowed
    /// The invitee's role is above the inviter's own: nobody hands out more than they hold.
    case roleAboveInviter
}

/// Admin-managed registration (as in django-jwt-allauth): an account with the given role and no usable
/// password, and an invitation mail whose link leads to the set-password form. Re-inviting a
/// pending address replaces the pending account and its link.
package struct Invitations {
    let db: any SQLConnection
    let accounts: AccountSettings
    let mailer: AccountMailer

    package func invite(_ invitee: Invitee, by inviter: Inviter, now: Int64) throws -> InvitationOutcome {
        if case .account(let principal) = inviter {
            guard accounts.registrationAllowedRoles.contains(principal.role) else { return .notAllowed }
            guard invitee.role <= principal.role else { return .roleAboveInviter }
        }
        let users = UserStore(db)
        // One write transaction: the check, the replacement, the account and its mail land together.
        return try db.transaction(.write) { () throws -> InvitationOutcome in
            try users.lockAddress(invitee.email)
            if let existing = try users.find(email: invitee.email) {
                if existing.emailVerified || existing.lastLogin != nil || !existing.isActive { return .emailTaken }
                try users.delete(userID: existing.id)
            }
            let user = try users.create(email: invitee.email, passwordHash: PasswordHasher.unusable(), firstName: invitee.firstName,
                                        lastName: invitee.lastName, role: invitee.role, emailVerified: false, dateJoined: now)
            let key = try OneTimeTokens(db).issue(.invitation, userID: user.id, now: now, lifetime: accounts.emailConfirmationExpire)
            try mailer.sendInvitation(to: user, key: key, now: now)
            return .invited(userID: user.id)
        }
    }
}
