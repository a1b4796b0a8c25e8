import AllauthRuntime
import AllauthStore

/// `login/`: an e-mail address and a password for a session, or for the MFA challenge the account
/// owes (`SignIn.finish`). The handler decodes the body and renders the outcome; the rules are
/// here: the failed-login limits (`PasswordGuess`), a failure that costs what the dearest stored
/// hash costs, one answer for an unknown address and a wrong password, the rehash of an outdated hash.
package struct LogIn {
    let db: any SQLConnection
    let guess: PasswordGuess
    let hasher: BudgetedHasher
    let store: StoreLocation
    let emailVerification: EmailVerification
    let signIn: SignIn


    package enum Outcome {
        /// The first factor is proven: a session, or the challenge the account owes first.
        case signedIn(SignInOutcome)
        /// Unknown address or wrong password, one answer for both.
        case refused
        /// The failed-login budget of this client network (or of this account from it) is spent.
        case throttled(retryAfter: Int)
        /// Right password, address unconfirmed under mandatory verification.
        case emailNotVerified
        /// Right password, account deactivated.
        case inactive
    }

    /// `client`: nginx's `REMOTE_ADDR`; `language`: the request's, kept for the mails that follow.
    /// Throws `HashingBudgetExhausted` (a 503) when the pool is too busy to hash, after giving the
    /// attempt's unit back: a request refused for load is no attempt.
    package func callAsFunction(email: String, password: String, client: String, device: DeviceInfo,
                                language: String, now: Int64) throws -> Outcome {
        let users = UserStore(db)
        var user: UserRecord?
        let needsRehash: Bool
        switch try guess.check(password, account: email, client: client, against: {
            user = try users.find(email: email)
            // Every failure costs what the dearest stored hash costs, so that neither an unknown
            // address nor an account with a cheaper or dearer hash answers in another time.
            return (user?.password, try StoredRoundsCeiling.shared.rounds(users, store: store, seen: user?.password))
        }) {
        case .throttled(let retryAfter): return .throttled(retryAfter: retryAfter)
        case .wrong: return .refused
        case .right(let rehash): needsRehash = rehash
        }
        guard let user else { return .refused }

        if emailVerification == .mandatory && !user.emailVerified { return .emailNotVerified }
        guard user.isActive else { return .inactive }
        // Hashing is slow: done before the write transaction, which stays short.
        let upgradedHash = needsRehash ? try hasher.hash(password) : nil
        return .signedIn(try db.transaction {
            if let upgradedHash { try users.setPasswordHash(userID: user.id, upgradedHash) }
            // The first factor is proven: the mails sent to this user from now on speak this request's language.
            try users.setLanguage(userID: user.id, language)
            return try signIn.finish(user, device: device, now: now)
        })
    }
}
