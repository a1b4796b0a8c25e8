import AllauthDomain
import FastCGI

/// The two capability-cookie endpoints: `POST password/reset/set-new/` (after a reset link) and
/// `POST registration/set-password/` (after an invitation link). Both hand the caller a session.
enum SetPasswordHandler {
    static func resetSetNew(_ request: Request, _ context: HandlerContext) throws -> Response {
        try redeem(request, context, cookie: context.config.cookies.passwordReset, purpose: .passwordResetAccess, detail: "Password reset.")
    }

    static func invitationSetPassword(_ request: Request, _ context: HandlerContext) throws -> Response {
        try redeem(request, context, cookie: context.config.cookies.passwordSet, purpose: .passwordSetAccess, detail: "Password set.")
    }

    /// Order matters: nothing is spent by a request without the CSRF token, from another site,
    /// or with an unacceptable password; only a request that will succeed spends the capability.
    private static func redeem(_ request: Request, _ context: HandlerContext, cookie: Config.Cookie, purpose: TokenPurpose,
                               detail: String) throws -> Response {
        // The answer sets the refresh cookie: refuse a cross-site caller as login/ and refresh/ do.
        try context.requireAllowedOrigin(request)
        let capability = try context.presentedCapability(request, cookie: cookie)
        guard let user = try context.flows.capabilities.holder(of: capability, purpose, now: context.now) else {
            throw HandlerContext.capabilityNotValid
        }
        var body = try RequestBody(request)
        let attributes = PasswordPolicy.Attributes(email: user.email, firstName: user.firstName, lastName: user.lastName)
        let password = body.newPassword(context.service.passwords, similarTo: attributes)
        try body.validate()
        guard let password else { throw APIError.badRequest("Invalid data.") }
        let hash = try context.flows.hasher.hash(password)
        switch try context.flows.capabilities.redeem(capability, purpose, passwordHash: hash, device: context.device(request), now: context.now) {
        case .passwordSet(let holder, let outcome):
            // An invitation's first password is no change of credentials; a reset is.
            if purpose == .passwordResetAccess { context.record(.passwordReset(userID: holder.id), request) }
            var message = detail
            if case .mfaSetupChallenge = outcome { message = "\(detail) Please configure MFA to complete registration." }
            var response = try context.signInResponse(outcome, extra: [("detail", .string(message))])
            response.clearCookie(cookie)
            return response
        case .invalid:
            throw HandlerContext.capabilityNotValid
        }
    }
}
