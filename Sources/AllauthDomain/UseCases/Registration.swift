import AllauthStore

/// What a sign-up asks for, already validated field by field.
package struct SignUp {
    var email: String
    var passwordHash: String
    var firstName: String
    var lastName: String
}

/// What became of a sign-up (the handler only translates it into HTTP).
package enum RegistrationOutcome {
    /// A new account; `signIn` is how its first sign-in ended (a session, disabled while mandatory
    /// verification waits for the link; or the MFA setup challenge of `required` mode), absent
    /// under mandatory verification with enumeration hidden: no session and no second factor
    /// before the address is confirmed.
    case created(UserRecord, signIn: SignInOutcome?)
    /// The address belongs to an account (confirmed or not) and enumeration is hidden: nothing was
    /// created, the owner was told by mail, and the caller gets the same answer as a new sign-up.
    case hiddenConflict
    /// The address belongs to an account (reported: verification is not mandatory, or hiding is off).
    case emailTaken
}

/// Self-service sign-up `POST registration/` (as in django-jwt-allauth) in the three
/// verification modes.
///
/// Unlike the reference, a sign-up never replaces an account, not even an unconfirmed one
/// (docs/api.md, differences): the reference deletes a pending sign-up when the address is signed
/// up again, so a stranger could swap the owner's pending account for one with the stranger's
/// password. The mailbox's owner gets the "account exists" mail instead, whose reset link takes a
/// stranger's pending account over (a reset confirms the address and drops whatever the pending
/// account had added: `CapabilityRedemption`).
package struct Registration {
    let db: any SQLConnection
    let accounts: AccountSettings
    let mfa: MFASettings
    let issuer: SessionIssuer
    let mailer: AccountMailer

    /// Somebody has shown they read this address: it is confirmed, an operator raised the role, or
    /// an invitation to it is live. Social login may link a provider to such an account (§8.2).
    static func provesMailboxControl(_ user: UserRecord, tokens: OneTimeTokens, now: Int64) throws -> Bool {
        if user.emailVerified || user.role != Role.user { return true }
        return try !user.hasUsablePassword && tokens.hasLive(.invitation, userID: user.id, now: now)
    }

    /// The account is used (it logged in) or an operator acted on it, though its address is unproven.
    static func isInUse(_ user: UserRecord) -> Bool { user.lastLogin != nil || !user.isActive }

    /// `mayMail`: whether the per-address mail budget allows one more mail to this address.
    package func register(_ signUp: SignUp, mayMail: Bool, device: DeviceInfo, now: Int64) throws -> RegistrationOutcome {
        let verification = accounts.emailVerification
        let users = UserStore(db)
        let tokens = OneTimeTokens(db)
        // One write transaction from the look-up to the insert: two sign-ups of one address in two
        // workers cannot both see it free, and the mail is queued only if the account commits.
        return try db.transaction(.write) { () throws -> RegistrationOutcome in
            try users.lockAddress(signUp.email)
            if let existing = try users.find(email: signUp.email) {
                guard verification == .mandatory && accounts.preventEnumeration else { return .emailTaken }
                if mayMail { try mailer.sendAccountExists(to: existing, now: now) }
                return .hiddenConflict
            }
            let user = try users.create(
                email: signUp.email, passwordHash: signUp.passwordHash, firstName: signUp.firstName, lastName: signUp.lastName,
                emailVerified: verification == .none, dateJoined: now,
                // Under optional and none the sign-up is a login, as in the reference.
                lastLogin: verification == .mandatory ? nil : now)
            try users.setLanguage(userID: user.id, mailer.requestLanguage)
            if verification != .none {
                let key = try tokens.issue(.emailConfirmation, userID: user.id, now: now, lifetime: accounts.emailConfirmationExpire)
                if mayMail { try mailer.sendConfirmation(to: user, key: key, now: now) }
            }
            if verification == .mandatory && accounts.preventEnumeration {
                // No session and no setup challenge for any sign-up, so a new address and a taken
                // one look the same (under `required` mode the handler answers both with an id that
                // leads nowhere), and no second factor exists before the address is confirmed.
                return .created(user, signIn: nil)
            }
            let signIn = try SignIn(db: db, mfa: mfa, issuer: issuer)
                .finish(user, device: device, now: now, enabled: verification != .mandatory)
            return .created(user, signIn: signIn)
        }
    }
}
