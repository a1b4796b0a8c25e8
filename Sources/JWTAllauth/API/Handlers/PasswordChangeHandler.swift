import FastCGI

/// `POST password/change/`: the signed-in user changes their password (reference §2.6). With
/// `accounts.logout_on_password_change` every session and link of the account is revoked and the
/// caller gets a replacement session.
enum PasswordChangeHandler {
    static func post(_ request: Request, _ context: HandlerContext) throws -> Response {
        // The answer may set the refresh cookie.
        try context.requireAllowedOrigin(request)
        let identity = try context.authenticate(request)
        guard let user = try context.users.find(id: identity.userID), user.isActive else { throw APIError.tokenNotValid() }
        let config = context.config
        var body = try RequestBody(request)
        let old = config.accounts.oldPasswordFieldEnabled ? body.string("old_password", maxLength: 128) : nil
        let first = body.string("new_password1", maxLength: 128)
        let second = body.string("new_password2", maxLength: 128)
        if let old, try context.hasher.verify(old, against: user.password) == .mismatch {
            body.fail("old_password", "Your old password was entered incorrectly. Please enter it again.")
        }
        try body.validate()
        guard let first, let second else { throw APIError.badRequest("Invalid data.") }
        let attributes = PasswordPolicy.Attributes(email: user.email, firstName: user.firstName, lastName: user.lastName)
        let problems = RequestBody.newPasswordProblems(first, second, context.service.passwords, attributes)
        guard problems.isEmpty else { throw APIError.validation([("new_password2", problems)]) }

        let hash = try context.hasher.hash(first)
        let session = try context.db.transaction(.immediate) { () throws -> IssuedSession? in
            // Re-read under the write lock: a deactivation that landed meanwhile wins.
            guard let current = try context.users.find(id: user.id), current.isActive else { throw APIError.tokenNotValid() }
            try context.credentialChange.apply(to: current, passwordHash: hash)
            // Revocation took the caller's session too: hand over its replacement.
            guard context.config.accounts.logoutOnPasswordChange else { return nil }
            return try context.service.issuer.open(for: current, device: context.device(request), now: context.now, whitelist: context.whitelist)
        }
        context.record(.passwordChanged(userID: user.id), request)
        let detail: [(String, JSON)] = [("detail", "New password has been saved.")]
        guard let session else { return .json(.object(detail)) }
        return context.sessionResponse(session, extra: detail)
    }
}
