import AllauthCore
import AllauthRuntime
import AllauthStore

/// What became of a social login (the handler only translates it into HTTP).
package enum SocialLoginOutcome {
    /// The account was found through its connection, linked by its verified address, or created;
    /// the sign-in ends as every sign-in does (`SignIn.finish`): a session or an MFA challenge.
    case signedIn(UserRecord, SignInOutcome)
    /// The id_token was accepted before: each is accepted once.
    case replayed
    /// The address belongs to an account with a proven mailbox, and linking is off for this provider.
    case emailAlreadyRegistered
    /// The address belongs to an account in use whose address was never confirmed: linking would
    /// hand it to whoever controls the provider account.
    case localAccountUnverified
    case providerEmailUnverified
    /// Admin-managed registration: nobody signs up, socially or not.
    case signupClosed
    /// `social.auto_signup` off: only existing accounts may log in with a provider.
    case signupNotAllowed
    case inactive
    /// Mandatory verification and the account's address is unconfirmed.
    case emailNotVerified
}

/// What becomes of connecting a provider identity to the logged-in account.
package enum SocialConnectOutcome {
    case connected(SocialAccountRecord)
    /// The identity is connected to another account.
    case inUseElsewhere
    /// The id_token was accepted before: each is accepted once.
    case replayed
}

/// Social login and connections (as in django-jwt-allauth): resolves a verified provider identity
/// to an account, then ends the sign-in as a password login does (session or MFA challenge).
package struct SocialLogin {
    let db: any SQLConnection
    let social: SocialSettings
    let accounts: AccountSettings
    let mfa: MFASettings
    let issuer: SessionIssuer

    /// One write transaction from the look-ups to the session: two logins of one new identity in
    /// two workers cannot both create an account, and nothing is half-made if a step fails. The
    /// id_token is spent first, in the same transaction: whatever the outcome, it is not accepted again.
    package func logIn(_ identity: ProviderIdentity, provider: String, device: DeviceInfo, now: Int64) throws -> SocialLoginOutcome {
        let users = UserStore(db)
        let connections = SocialAccounts(db)
        return try db.transaction(.write) { () throws -> SocialLoginOutcome in
            guard try SpentIDTokens(db).spend(identity.token) else { return .replayed }
            // The identity, then its address: always in this order, so two logins never wait crosswise.
            try connections.lockIdentity(provider: provider, uid: identity.uid)
            if let email = identity.email { try users.lockAddress(email) }
            if let connection = try connections.find(provider: provider, uid: identity.uid),
               let user = try users.find(id: connection.userID) {
                if let refusal = gate(user) { return refusal }
                let outcome = try signIn.finish(user, device: device, now: now)
                if case .session = outcome { try connections.recordLogin(id: connection.id, claims: identity.claims, now: now) }
                return .signedIn(user, outcome)
            }
            guard let email = identity.email, identity.emailVerified || !social.requireVerifiedEmail else {
                return .providerEmailUnverified
            }
            let existing = try users.find(email: email)
            // Only an address the provider vouches for may reach or replace an account (with
            // `require_verified_email: false` an unverified one may still make a new account).
            if existing != nil && !identity.emailVerified { return .emailAlreadyRegistered }
            if let existing, try Registration.provesMailboxControl(existing, tokens: OneTimeTokens(db), now: now) {
                guard social.emailLinking.allows(provider) else { return .emailAlreadyRegistered }
                // Gates before any write: a refused login links nothing.
                if let refusal = gate(existing) { return refusal }
                // An account that owes a second factor is linked only once it is given: the link
                // waits (nothing written) and the challenge goes back instead, as in the reference.
                let outcome = try signIn.finish(existing, device: device, now: now)
                if case .session = outcome {
                    try connections.connect(userID: existing.id, provider: provider, uid: identity.uid, claims: identity.claims, now: now)
                }
                return .signedIn(existing, outcome)
            }
            if let existing, Registration.isInUse(existing) { return .localAccountUnverified }
            if accounts.adminManagedRegistration { return .signupClosed }
            if !social.autoSignup { return .signupNotAllowed }
            // An abandoned sign-up: nobody proved or used it, so the vouched-for owner takes it.
            if let existing { try users.delete(userID: existing.id) }
            let user = try users.create(email: email, passwordHash: PasswordHasher.unusable(),
                                        firstName: Self.name(identity.claims["given_name"]), lastName: Self.name(identity.claims["family_name"]),
                                        emailVerified: identity.emailVerified, dateJoined: now)
            try connections.connect(userID: user.id, provider: provider, uid: identity.uid, claims: identity.claims, now: now)
            // `required` MFA: even a new account starts with the setup challenge.
            return .signedIn(user, try signIn.finish(user, device: device, now: now))
        }
    }

    /// The checks a password login makes after the password.
    private func gate(_ user: UserRecord) -> SocialLoginOutcome? {
        if !user.isActive { return .inactive }
        if accounts.emailVerification == .mandatory && !user.emailVerified { return .emailNotVerified }
        return nil
    }

    private var signIn: SignIn { SignIn(db: db, mfa: mfa, issuer: issuer) }

    /// A name claim as a stored name: plain text up to 150 characters, else nothing.
    private static func name(_ claim: JSON?) -> String {
        guard let text = claim?.stringValue, text.count <= 150, PlainText.problem(in: text) == nil else { return "" }
        return text
    }

    /// Connects the identity to `userID` (idempotent for the same account). No session changes and
    /// no provider address is added: the account keeps its own.
    package func connect(_ identity: ProviderIdentity, provider: String, to userID: Int64, now: Int64) throws -> SocialConnectOutcome {
        let connections = SocialAccounts(db)
        return try db.transaction(.write) { () throws -> SocialConnectOutcome in
            guard try SpentIDTokens(db).spend(identity.token) else { return .replayed }
            try connections.lockIdentity(provider: provider, uid: identity.uid)
            if let existing = try connections.find(provider: provider, uid: identity.uid) {
                return existing.userID == userID ? .connected(existing) : .inUseElsewhere
            }
            return .connected(try connections.connect(userID: userID, provider: provider, uid: identity.uid, claims: identity.claims, now: now))
        }
    }

    package enum DisconnectOutcome { case disconnected, notFound, lastWayIn }

    /// Removes one of the caller's connections, unless it is the last way into the account (no
    /// usable password and no other connection). Durable: it takes a way into the account away.
    package func disconnect(id: Int64, userID: Int64) throws -> DisconnectOutcome {
        let connections = SocialAccounts(db)
        return try db.transaction(.accessChange) { () throws -> DisconnectOutcome in
            // Two disconnects of an account's last two connections: the second must see the first.
            try connections.lockConnections(userID: userID)
            guard try connections.find(id: id, userID: userID) != nil, let user = try UserStore(db).find(id: userID) else { return .notFound }
            if !user.hasUsablePassword, try connections.list(userID: userID).count <= 1 { return .lastWayIn }
            try connections.delete(id: id)
            return .disconnected
        }
    }
}
