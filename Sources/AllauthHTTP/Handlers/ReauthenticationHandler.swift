import AllauthCore
import AllauthDomain
import FastCGI

/// `POST reauthenticate/` `{password[, code | recovery_code]}`: the signed-in user proves the
/// password again (and the second factor, when the account has one), and the session may add ways
/// into the account for `accounts.reauthentication_timeout` (allauth's reauthentication).
enum ReauthenticationHandler {
    static func post(_ request: Request, _ context: HandlerContext) throws -> Response {
        let principal = try context.authenticate(request)
        var body = try RequestBody(request)
        let password = body.string("password", maxLength: 128)
        let code = body.string("code", required: false) != nil ? body.totpCode("code") : nil
        let recoveryCode = body.string("recovery_code", required: false, maxLength: 64)
        try body.validate()
        guard let password else { throw APIError.badRequest("Invalid data.") }

        let factor = code.map(SecondFactor.totp) ?? recoveryCode.map(SecondFactor.recoveryCode)
        let outcome: ReauthenticationOutcome
        switch try context.flows.reauthenticate(principal, password: password, factor: factor, client: request.remoteAddress, now: context.now) {
        case .throttled(let retryAfter): throw APIError.throttled(FailedLoginBudget.exhausted, retryAfter: retryAfter)
        case .confirmed(let confirmed): outcome = confirmed
        }
        switch outcome {
        case .reauthenticated(let until):
            return .json(.object([("detail", "Reauthenticated."), ("expires_at", .string(HTTPDate.iso8601(until)))]))
        case .wrongPassword:
            context.record(.loginFailed, request)
            throw APIError.field("password", "Incorrect password.")
        case .codeRequired:
            throw APIError.field("code", "Enter the code from your authenticator app.")
        case .wrongCode:
            context.record(.mfaFailed(factor: factor?.eventName ?? "totp"), request)
            throw APIError.field("code", "Invalid code.")
        case .lockedOut(let retryAfter):
            throw APIError.throttled("Too many failed MFA attempts. Try again later.", retryAfter: retryAfter)
        }
    }
}

extension HandlerContext {
    /// For an action that adds a way into the account: the principal's session reauthenticated
    /// lately (`POST reauthenticate/`), or 401 `reauthentication_required`.
    func requireRecentReauthentication(_ principal: Principal) throws {
        guard try !flows.reauthentication.isRecent(principal, now: now) else { return }
        throw APIError.unauthorized("Please confirm your password (reauthenticate/) to continue.", code: "reauthentication_required")
    }
}
