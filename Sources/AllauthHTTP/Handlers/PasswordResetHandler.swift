import AllauthDomain
import FastCGI
import Foundation

/// `POST password/reset/` (ask for a link, `RequestPasswordReset`) and `GET password/reset/confirm/<uidb64>/<token>/`
/// (follow it). The new password itself is set by `SetPasswordHandler.resetSetNew`.
enum PasswordResetHandler {
    static func request(_ request: Request, _ context: HandlerContext) throws -> Response {
        let started = Date()
        var body = try RequestBody(request)
        let email = body.emailAddress()
        try body.validate()
        guard let email else { throw APIError.badRequest("Invalid data.") }
        switch try context.flows.requestPasswordReset(email: email, client: request.remoteAddress, started: started, now: context.now) {
        case .throttled(let retryAfter):
            throw APIError.throttled("Too many password reset requests for this e-mail address.", retryAfter: retryAfter)
        case .accepted:
            break
        }
        return .detail("Password reset e-mail has been sent.")
    }

    static func confirm(_ request: Request, _ context: HandlerContext) throws -> Response {
        let outcome = try context.flows.passwordReset.open(uid: context.parameters["uidb64"] ?? "", token: context.parameters["token"] ?? "",
                                                           now: context.now)
        switch outcome {
        case .opened(let capability):
            let config = context.config
            return context.capabilityRedirect(
                request, to: context.redirectTarget(config.redirects.passwordReset, builtIn: "password/reset/default/"),
                cookie: config.cookies.passwordReset, capability: capability)
        case .invalid:
            // The reference's answer: the reset page in its "link invalid" state, 200, no cookies
            // (whatever capability cookie an earlier link left in the browser).
            return try context.page(.passwordResetForm, for: request, ignoringCapability: true)
        }
    }
}
