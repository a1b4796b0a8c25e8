import AllauthCore
import AllauthDomain
import FastCGI

/// `POST password/change/`: the signed-in user changes their password (as in django-jwt-allauth). With
/// `accounts.logout_on_password_change` every session and link of the account is revoked and the
/// caller gets a replacement session.
enum PasswordChangeHandler {
    static func post(_ request: Request, _ context: HandlerContext) throws -> Response {
        // The answer may set the refresh cookie.
        try context.requireAllowedOrigin(request)
        let user = try context.authenticate(request).account
        let config = context.config
        var body = try RequestBody(request)
        let old = config.accounts.oldPasswordFieldEnabled ? body.string("old_password", maxLength: 128) : nil
        let first = body.string("new_password1", maxLength: 128)
        let second = body.string("new_password2", maxLength: 128)
        if let old { try checkOldPassword(old, of: user, &body, request, context) }
        try body.validate()
        guard let first, let second else { throw APIError.badRequest("Invalid data.") }
        let attributes = PasswordPolicy.Attributes(email: user.email, firstName: user.firstName, lastName: user.lastName)
        let problems = RequestBody.newPasswordProblems(first, second, context.service.passwords, attributes)
        guard problems.isEmpty else { throw APIError.validation([("new_password2", problems)]) }

        let hash = try context.flows.hasher.hash(first)
        let outcome = try context.flows.credentialChange.change(
            userID: user.id, passwordHash: hash, issuer: context.service.issuer, device: context.device(request), now: context.now)
        // Revocation took the caller's session too: the outcome carries its replacement.
        guard case .changed(let session) = outcome else { throw APIError.tokenNotValid() }
        context.record(.passwordChanged(userID: user.id), request)
        let detail: [(String, JSON)] = [("detail", "New password has been saved.")]
        guard let session else { return .json(.object(detail)) }
        return context.sessionResponse(session, extra: detail)
    }

    /// A wrong old password is a password guess by whoever holds the access token: it counts
    /// against the same failed-login budget as `login/` (`PasswordGuess`: 429 once spent, before any
    /// hashing) and is logged as a failed login that fail2ban bans on.
    private static func checkOldPassword(_ old: String, of user: UserRecord, _ body: inout RequestBody, _ request: Request,
                                         _ context: HandlerContext) throws {
        switch try context.flows.passwordGuess.check(old, of: user, client: request.remoteAddress) {
        case .right:
            return
        case .throttled(let retryAfter):
            throw APIError.throttled(FailedLoginBudget.exhausted, retryAfter: retryAfter)
        case .wrong:
            context.record(.oldPasswordRejected(userID: user.id), request)
            body.fail("old_password", "Your old password was entered incorrectly. Please enter it again.")
        }
    }
}
