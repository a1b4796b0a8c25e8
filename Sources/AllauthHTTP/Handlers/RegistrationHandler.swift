import AllauthCore
import AllauthDomain
import FastCGI

/// `POST registration/` (sign-up, `RegisterAccount`) and `GET registration/verification/<key>/` (the link in the
/// confirmation and invitation mails).
enum RegistrationHandler {
    static let verificationSent = "Verification e-mail sent."

    static func register(_ request: Request, _ context: HandlerContext) throws -> Response {
        // The answer may set the refresh cookie.
        try context.requireAllowedOrigin(request)
        var body = try RequestBody(request)
        let email = body.emailAddress(maxLength: 100)
        let password1 = body.string("password1")
        let password2 = body.string("password2")
        let firstName = body.personName("first_name")
        let lastName = body.personName("last_name")
        if let password1 {
            let attributes = PasswordPolicy.Attributes(email: email ?? "", firstName: firstName, lastName: lastName)
            for problem in context.service.passwords.problems(password1, similarTo: attributes) { body.fail("password1", problem) }
        }
        try body.validate()
        guard let email, let password1, let password2 else { throw APIError.badRequest("Invalid data.") }
        guard password1 == password2 else { throw APIError.field("non_field_errors", "The two password fields didn't match.") }

        let outcome = try context.flows.registerAccount(email: email, password: password1, firstName: firstName, lastName: lastName,
                                                        client: request.remoteAddress, device: context.device(request), now: context.now)
        switch outcome {
        case .throttled(let retryAfter):
            throw APIError.throttled("Too many sign-ups from this address. Try again later.", retryAfter: retryAfter)
        case .decoySetupChallenge(let id):
            return try context.signInResponse(.mfaSetupChallenge(id: id), extra: [("detail", .string(verificationSent))], status: .created)
        case .verificationSent:
            return .detail(verificationSent, status: .created)
        case .pendingSession(let session):
            return context.sessionResponse(session, includeAccess: false, extra: [("detail", .string(verificationSent))], status: .created)
        case .signedIn(let signedIn, let mailed):
            return try context.signInResponse(signedIn, extra: mailed ? [("detail", .string(verificationSent))] : [], status: .created)
        case .emailTaken:
            throw APIError.field("email", "A user is already registered with this e-mail address.")
        }
    }

    /// `GET registration/verification/<key>/`: a confirmation key shows the page whose button
    /// confirms (`confirm`), or confirms at once under `accounts.confirm_email_on_get`; an invitation
    /// key hands over the set-password capability, which confirms nothing by itself.
    static func verify(_ request: Request, _ context: HandlerContext) throws -> Response {
        let key = context.parameters["key"] ?? ""
        if context.config.accounts.confirmEmailOnGet { return try follow(key, request, context) }
        switch try context.flows.emailConfirmation.inspect(key: key, now: context.now) {
        case .invalid:
            return try context.page(.verificationFailed, for: request, status: .badRequest)
        case .invitation:
            return try follow(key, request, context)
        case .confirmation(let user):
            return try context.formPage(.confirmEmail, for: request) { page in
                page.email = user.email
                page.formAction = request.path
            }
        }
    }

    /// `POST registration/verification/<key>/`: the confirmation page's button. Same-site only
    /// (the CSRF value of the page, and an allowed `Origin` when the browser sends one).
    static func confirm(_ request: Request, _ context: HandlerContext) throws -> Response {
        try context.requireSameSiteForm(request)
        return try follow(context.parameters["key"] ?? "", request, context)
    }

    private static func follow(_ key: String, _ request: Request, _ context: HandlerContext) throws -> Response {
        let config = context.config
        switch try context.flows.emailConfirmation.follow(key: key, now: context.now) {
        case .confirmed:
            return .redirect(to: context.redirectTarget(config.redirects.emailVerified, builtIn: "registration/verified/"))
        case .invitationAccepted(_, let capability):
            return context.capabilityRedirect(
                request, to: context.redirectTarget(config.redirects.passwordSet, builtIn: "registration/set-password/default/"),
                cookie: config.cookies.passwordSet, capability: capability)
        case .failed:
            return try context.page(.verificationFailed, for: request, status: .badRequest)
        }
    }
}
