import AllauthCore
import AllauthRuntime
import AllauthStore
import Foundation

/// What an operator does to accounts from the command line (`jwt-allauth users …`, `create-user`,
/// `invite`, `verify-email`, `mfa-remove`), as `manage.py` and the Django admin let the reference's.
/// The API's rules hold here too: an address, a name or a password passes sign-up's checks, a new
/// password ends sessions as a password change does (`CredentialChange`), an invitation goes through
/// `Invitations`. `Config.administration` (Config/Flows.swift) puts it together.
package struct AccountAdministration {
    let db: any SQLConnection
    let accounts: AccountSettings
    let mail: AccountMailSettings
    let templates: TemplateSettings
    let mfa: MFASettings
    /// Sign-up's password validators, loaded (with the common-passwords list) only when a password is set.
    let passwordPolicy: () throws -> PasswordPolicy

    package init(db: any SQLConnection, accounts: AccountSettings, mail: AccountMailSettings, templates: TemplateSettings,
                 mfa: MFASettings, passwordPolicy: @escaping () throws -> PasswordPolicy) {
        self.db = db
        self.accounts = accounts
        self.mail = mail
        self.templates = templates
        self.mfa = mfa
        self.passwordPolicy = passwordPolicy
    }

    package enum Failure: Error, Equatable { case noSuchAccount }

    /// What an operator typed and sign-up would refuse; the command line words it.
    package enum InputProblem: Equatable, Sendable {
        /// `EmailAddressFormat`'s verdict on the address.
        case email(EmailAddressFormat.Problem)
        case emailTooLong(maximum: Int)
        case controlCharacters(field: String)
        /// Not a name `PersonName` accepts (`first_name`, `last_name`).
        case name(field: String)
        /// The password validators' messages (`PasswordPolicy`), every one that failed.
        case password([String])
        case role(Int)
    }

    /// Thrown, before anything changes, when the input breaks one of sign-up's rules.
    package struct InputRefused: Error, Equatable {
        package var problems: [InputProblem]
    }

    /// Sign-up's longest address (`registration/`, `registration/user-register/`).
    static let maxEmailLength = 100

    // MARK: creating

    /// A new account as the operator describes it. `password` nil: no usable password (the account
    /// signs in through a reset link or a social login).
    package struct NewAccount: Sendable {
        package var email: String
        package var password: String?
        package var firstName: String
        package var lastName: String
        package var role: Int

        package init(email: String, password: String?, firstName: String = "", lastName: String = "", role: Int = Role.user) {
            self.email = email
            self.password = password
            self.firstName = firstName
            self.lastName = lastName
            self.role = role
        }
    }

    /// Creates a verified, active account after sign-up's checks (`InputRefused`); nil when the
    /// address belongs to an account already (pending sign-ups and invitations included).
    package func create(_ account: NewAccount, now: Int64 = Int64(Date().timeIntervalSince1970)) throws -> UserRecord? {
        let email = try checkedIdentity(email: account.email, firstName: account.firstName, lastName: account.lastName, role: account.role)
        var hash = PasswordHasher.unusable()
        if let password = account.password {
            let attributes = PasswordPolicy.Attributes(email: email, firstName: account.firstName, lastName: account.lastName)
            hash = try hashed(password, similarTo: attributes)
        }
        do {
            return try UserStore(db).create(email: email, passwordHash: hash, firstName: account.firstName, lastName: account.lastName,
                                            role: account.role, emailVerified: true, dateJoined: now)
        } catch UserStore.CreateError.emailTaken {
            return nil
        }
    }

    /// Creates the invited account and queues its invitation mail, after sign-up's checks of the
    /// address and names (`InputRefused`). The operator may invite any role.
    package func invite(_ invitee: Invitee, now: Int64 = Int64(Date().timeIntervalSince1970)) throws -> InvitationOutcome {
        var invitee = invitee
        invitee.email = try checkedIdentity(email: invitee.email, firstName: invitee.firstName, lastName: invitee.lastName, role: invitee.role)
        let mailer = AccountMailer(settings: mail, templates: try TemplateLibrary(templates), outbox: Outbox(db))
        return try Invitations(db: db, accounts: accounts, mailer: mailer).invite(invitee, by: .operator, now: now)
    }

    /// The address normalised as sign-up stores it, once the address, names and role pass.
    private func checkedIdentity(email: String, firstName: String, lastName: String, role: Int) throws -> String {
        let email = email.trimmingCharacters(in: .whitespacesAndNewlines)
        var problems: [InputProblem] = []
        if PlainText.problem(in: email) != nil {
            problems.append(.controlCharacters(field: "email"))
        } else if email.count > Self.maxEmailLength {
            problems.append(.emailTooLong(maximum: Self.maxEmailLength))
        } else if let problem = EmailAddressFormat.problem(email) {
            problems.append(.email(problem))
        }
        for (field, name) in [("first_name", firstName), ("last_name", lastName)] {
            if PlainText.problem(in: name) != nil {
                problems.append(.controlCharacters(field: field))
            } else if !PersonName.isValid(name) {
                problems.append(.name(field: field))
            }
        }
        if !Role.codes.contains(role) { problems.append(.role(role)) }
        guard problems.isEmpty else { throw InputRefused(problems: problems) }
        return UserStore.normalise(email)
    }

    /// The hash of `password` once sign-up's validators accept it. Trimmed, as the API's fields are.
    private func hashed(_ password: String, similarTo attributes: PasswordPolicy.Attributes) throws -> String {
        let password = password.trimmingCharacters(in: .whitespacesAndNewlines)
        let problems = try passwordPolicy().problems(password, similarTo: attributes)
        guard problems.isEmpty else { throw InputRefused(problems: [.password(problems)]) }
        // The command line is no request thread and holds no slot of a pool's hashing budget.
        return PasswordHasher(iterations: accounts.passwordIterations).offline(password)
    }

    // MARK: reading

    /// Every account, oldest first: of one role, active or inactive ones when asked, and whose
    /// address or names contain `search` (any case, any script). The search runs here rather than
    /// in SQL: the engines fold case differently beyond ASCII, and a scan it is either way.
    package func list(search: String? = nil, role: Int? = nil, active: Bool? = nil) throws -> [UserRecord] {
        let accounts = try UserStore(db).list(role: role, active: active)
        guard let search = search?.trimmingCharacters(in: .whitespacesAndNewlines), !search.isEmpty else { return accounts }
        return accounts.filter { account in
            [account.email, account.firstName, account.lastName, "\(account.firstName) \(account.lastName)"].contains {
                $0.range(of: search, options: [.caseInsensitive]) != nil
            }
        }
    }

    /// The account of `email` (`Failure.noSuchAccount` when there is none).
    package func account(_ email: String) throws -> UserRecord { try existing(email) }

    /// An account as an operator looks at it.
    package struct Details: Sendable {
        package var account: UserRecord
        /// Sessions whose refresh token has not expired, newest activity first.
        package var sessions: [SessionSummary]
        package var hasTOTP: Bool
        /// Unspent recovery codes; nil when none were made.
        package var recoveryCodesLeft: Int?
        package var socialAccounts: [SocialAccountRecord]
        /// Links and capabilities outstanding (confirmation, invitation, reset …).
        package var outstandingLinks: [TokenPurpose]
    }

    package func details(_ email: String, now: Int64 = Int64(Date().timeIntervalSince1970)) throws -> Details {
        let account = try existing(email)
        let authenticators = AuthenticatorStore(db)
        return Details(account: account, sessions: try Whitelist(db).sessions(userID: account.id, liveAt: now),
                       hasTOTP: try authenticators.hasTOTP(userID: account.id),
                       recoveryCodesLeft: try authenticators.recoveryCodesLeft(userID: account.id),
                       socialAccounts: try SocialAccounts(db).list(userID: account.id),
                       outstandingLinks: try OneTimeTokens(db).livePurposes(userID: account.id, now: now))
    }

    /// Active accounts whose role may invite (`accounts.registration_allowed_roles`); nil when
    /// invitations are off. A demotion, deactivation or deletion that leaves none says so.
    package func activeInviters() throws -> Int? {
        guard accounts.invitations else { return nil }
        return try UserStore(db).countActive(roles: accounts.registrationAllowedRoles)
    }

    /// Whether `role` may invite, invitations being on.
    package func mayInvite(_ role: Int) -> Bool {
        accounts.invitations && accounts.registrationAllowedRoles.contains(role)
    }

    // MARK: changing

    /// Sets a password after sign-up's validators, then revokes as a password change does: with
    /// `accounts.logout_on_password_change`, every session and every outstanding link and
    /// capability. Answers the account and the number of refresh tokens revoked.
    package func setPassword(_ email: String, to password: String) throws -> (account: UserRecord, revoked: Int) {
        let account = try existing(email)
        // Hashed before the transaction, which stays short.
        let hash = try hashed(password, similarTo: PasswordPolicy.Attributes(email: account.email, firstName: account.firstName,
                                                                            lastName: account.lastName))
        return try db.transaction(.accessChange) { () throws -> (account: UserRecord, revoked: Int) in
            guard let current = try UserStore(db).findLocked(id: account.id) else { throw Failure.noSuchAccount }
            return (current, try CredentialChange(db: db, accounts: accounts).apply(to: current, passwordHash: hash))
        }
    }

    /// Gives the account another role; answers the account as it was (its old role). Rights follow
    /// the row at once (`Principal`); the `role` claim follows at the session's next refresh.
    package func setRole(_ email: String, to role: Int) throws -> UserRecord {
        guard Role.codes.contains(role) else { throw InputRefused(problems: [.role(role)]) }
        return try db.transaction(.accessChange) { () throws -> UserRecord in
            let account = try existing(email, locked: true)
            try UserStore(db).setRole(userID: account.id, role)
            return account
        }
    }

    /// Lets a deactivated account log in again; answers the account as it was (already active or not).
    package func activate(_ email: String) throws -> UserRecord {
        try db.transaction(.accessChange) { () throws -> UserRecord in
            let account = try existing(email, locked: true)
            if !account.isActive { try UserStore(db).setActive(userID: account.id, true) }
            return account
        }
    }

    /// Marks the address verified and enables sign-up sessions waiting for it.
    package func verifyEmail(_ email: String) throws {
        try db.transaction(.write) {
            let user = try existing(email)
            try UserStore(db).markVerified(userID: user.id)
            try OneTimeTokens(db).revoke(.emailConfirmation, userID: user.id)
            try Whitelist(db).enable(userID: user.id)
        }
    }

    /// Deactivates the account and revokes everything it holds: sessions, links and capabilities.
    /// Answers the account and the number of refresh tokens revoked. One durable transaction, so no
    /// session survives the flag.
    @discardableResult
    package func deactivate(_ email: String) throws -> (account: UserRecord, revoked: Int) {
        try db.transaction(.accessChange) { () throws -> (account: UserRecord, revoked: Int) in
            let user = try existing(email, locked: true)
            try UserStore(db).setActive(userID: user.id, false)
            try OneTimeTokens(db).revokeAll(userID: user.id)
            return (user, try Whitelist(db).revoke(userID: user.id))
        }
    }

    /// Removes the account's second factors (a lost phone) with its challenges and failure
    /// history, and revokes every session, in one transaction: whoever holds the phone and an old
    /// session loses both together. Durable, as every revocation. Answers the number of authenticators removed.
    @discardableResult
    package func removeMFA(_ email: String) throws -> Int {
        try db.transaction(.accessChange) { () throws -> Int in
            let user = try existing(email)
            let challenges = ChallengeStore(db: db)
            try challenges.deleteAll(userID: user.id)
            try challenges.clearFailures(userID: user.id)
            try Whitelist(db).revoke(userID: user.id)
            return try AuthenticatorStore(db).removeAll(userID: user.id)
        }
    }

    /// What a deletion removed besides the account's row.
    package struct Deletion: Sendable, Equatable {
        package var account: UserRecord
        package var refreshTokens = 0
        package var links = 0
        package var authenticators = 0
        package var socialAccounts = 0
        package var mails = 0
    }

    /// Deletes the account and every row that refers to it, in one durable transaction: its
    /// sessions first (a refresh racing the deletion finds no row), then reauthentications, links
    /// and capabilities, second factors with their challenges and failures, social connections, the
    /// mail queued or sent to its address, and the account's row. The foreign keys would cascade
    /// most of it; each owner deletes its own rows here, so the order is this one on both engines.
    package func delete(_ email: String) throws -> Deletion {
        try db.transaction(.accessChange) { () throws -> Deletion in
            let account = try existing(email, locked: true)
            let id = account.id
            var deletion = Deletion(account: account)
            deletion.refreshTokens = try Whitelist(db).revoke(userID: id)
            try Reauthentication(db: db, accounts: accounts, mfa: mfa).forget(userID: id)
            deletion.links = try OneTimeTokens(db).revokeAll(userID: id)
            let challenges = ChallengeStore(db: db)
            try challenges.deleteAll(userID: id)
            try challenges.clearFailures(userID: id)
            deletion.authenticators = try AuthenticatorStore(db).removeAll(userID: id)
            deletion.socialAccounts = try SocialAccounts(db).deleteAll(userID: id)
            deletion.mails = try Outbox(db).deleteAll(to: account.email)
            try UserStore(db).delete(userID: id)
            return deletion
        }
    }

    /// The account of `email`, or `Failure.noSuchAccount`. `locked`: read under a row lock (inside
    /// a write transaction), so a change racing this one lands wholly before or after it.
    private func existing(_ email: String, locked: Bool = false) throws -> UserRecord {
        let users = UserStore(db)
        guard let found = try users.find(email: email) else { throw Failure.noSuchAccount }
        guard locked else { return found }
        guard let current = try users.findLocked(id: found.id) else { throw Failure.noSuchAccount }
        return current
    }
}
