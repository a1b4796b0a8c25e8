import AllauthDomain
import FastCGI

/// `POST login/`: e-mail and password → a new session, or the MFA challenge the account owes.
enum LoginHandler {
    static func post(_ request: Request, _ context: HandlerContext) throws -> Response {
        try context.requireAllowedOrigin(request)
        var body = try RequestBody(request)
        let email = body.plainText("email")
        let password = body.string("password")
        try body.validate()
        guard let email, let password else { throw APIError.badRequest("Invalid data.") }

        // Failed-login limits per client network, and per account from that network
        // (`FailedLoginBudget`). A unit is taken now and given back if the password is right, so
        // only failures count, and parallel guesses cannot all slip past the check.
        let reservation = try context.requireWithinLimits(
            FailedLoginBudget.buckets(account: email, client: request.remoteAddress, context.config.throttle),
            detail: FailedLoginBudget.exhausted)

        let hasher = context.hasher
        // Unknown address and wrong password: one answer, one event (no enumeration in the log either).
        func refused() -> APIError {
            context.record(.loginFailed, request)
            return APIError.unauthorized("Incorrect credentials", code: "incorrect_credentials")
        }
        let user = try context.users.find(email: email)
        // Every failure costs what the dearest stored hash costs, so that neither an unknown address
        // nor an account with a cheaper or dearer hash answers in another time.
        let failureCost = try StoredRoundsCeiling.shared.rounds(context.users, store: context.config.database.location, seen: user?.password)
        // Refused for load, not for the password: the attempt does not count as a failure.
        let verdict = try context.refundingOnOverload(reservation) { () throws -> PasswordHasher.Verdict in
            if let user { return try hasher.verify(password, against: user.password, failureCost: failureCost) }
            // Same work as a real check, slot included: an unknown address must not answer faster.
            try hasher.verifyNothing(password, failureCost: failureCost)
            return .mismatch
        }
        guard let user, verdict != .mismatch else { throw refused() }
        try context.throttle.release(reservation)

        if context.config.accounts.emailVerification == .mandatory && !user.emailVerified {
            throw APIError.unauthorized("User email is not verified", code: "email_not_verified")
        }
        guard user.isActive else {
            throw APIError.unauthorized("No active account found with the given credentials", code: "no_active_account")
        }
        // Hashing is slow: done before the write transaction, which stays short.
        let upgradedHash = verdict == .matchNeedsRehash ? try hasher.hash(password) : nil
        let outcome = try context.db.transaction {
            if let upgradedHash { try context.users.setPasswordHash(userID: user.id, upgradedHash) }
            // The first factor is proven: the mails sent to this user from now on speak this request's language.
            try context.users.setLanguage(userID: user.id, context.language)
            return try context.signIn.finish(user, device: context.device(request), now: context.now)
        }
        return try context.signInResponse(outcome)
    }
}
