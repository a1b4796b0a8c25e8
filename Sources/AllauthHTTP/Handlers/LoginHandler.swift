import AllauthDomain
import FastCGI

/// `POST login/`: decodes e-mail and password, runs `LogIn` and renders its outcome.
enum LoginHandler {
    static func post(_ request: Request, _ context: HandlerContext) throws -> Response {
        try context.requireAllowedOrigin(request)
        var body = try RequestBody(request)
        let email = body.plainText("email")
        let password = body.string("password")
        try body.validate()
        guard let email, let password else { throw APIError.badRequest("Invalid data.") }

        let outcome = try context.flows.logIn(email: email, password: password, client: request.remoteAddress,
                                              device: context.device(request), language: context.language, now: context.now)
        switch outcome {
        case .signedIn(let signedIn):
            return try context.signInResponse(signedIn)
        case .refused:
            // Unknown address and wrong password: one answer, one event (no enumeration in the log either).
            context.record(.loginFailed, request)
            throw APIError.unauthorized("Incorrect credentials", code: "incorrect_credentials")
        case .throttled(let retryAfter):
            throw APIError.throttled(FailedLoginBudget.exhausted, retryAfter: retryAfter)
        case .emailNotVerified:
            throw APIError.unauthorized("User email is not verified", code: "email_not_verified")
        case .inactive:
            throw APIError.unauthorized("No active account found with the given credentials", code: "no_active_account")
        }
    }
}
