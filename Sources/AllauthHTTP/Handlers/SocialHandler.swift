import AllauthCore
import AllauthDomain
import FastCGI
import HTTPTypes

/// The `social/` endpoints (as in django-jwt-allauth): providers, login with an id_token or an
/// authorization code, connecting a provider to the logged-in account, listing and removing
/// connections. Provider trouble is a 503; every refusal is `{"detail", "code"}`.
enum SocialHandler {
    static func providers(_ request: Request, _ context: HandlerContext) throws -> Response {
        // Never the secret.
        .json(.array(context.config.social.providers.map { provider in
            .object([("id", .string(provider.id)), ("name", .string(provider.name)), ("client_id", .string(provider.clientID))])
        }))
    }

    static func tokenLogin(_ request: Request, _ context: HandlerContext) throws -> Response {
        try context.requireAllowedOrigin(request)
        let (client, identity) = try verifiedToken(request, context)
        return try logIn(identity, provider: client.provider.id, request, context)
    }

    static func codeLogin(_ request: Request, _ context: HandlerContext) throws -> Response {
        try context.requireAllowedOrigin(request)
        let (client, identity) = try exchangedCode(request, context)
        return try logIn(identity, provider: client.provider.id, request, context)
    }

    static func connectToken(_ request: Request, _ context: HandlerContext) throws -> Response {
        let principal = try context.authenticate(request)
        // A provider connection is a way into the account.
        try context.requireRecentReauthentication(principal)
        let (client, identity) = try verifiedToken(request, context)
        return try connect(identity, provider: client.provider.id, to: principal.userID, context)
    }

    static func connectCode(_ request: Request, _ context: HandlerContext) throws -> Response {
        let principal = try context.authenticate(request)
        try context.requireRecentReauthentication(principal)
        let (client, identity) = try exchangedCode(request, context)
        return try connect(identity, provider: client.provider.id, to: principal.userID, context)
    }

    static func accounts(_ request: Request, _ context: HandlerContext) throws -> Response {
        let principal = try context.authenticate(request)
        return .json(.array(try SocialAccounts(context.db).list(userID: principal.userID).map(representation)))
    }

    static func disconnect(_ request: Request, _ context: HandlerContext) throws -> Response {
        let principal = try context.authenticate(request)
        guard let id = context.parameters["id"].flatMap({ Int64($0) }) else { return Response(status: .notFound) }
        switch try context.flows.socialLogin.disconnect(id: id, userID: principal.userID) {
        case .disconnected: return Response(status: .noContent)
        // As the reference: someone else's connection is simply not found, with an empty body.
        case .notFound: return Response(status: .notFound)
        case .lastWayIn:
            throw APIError.coded(.badRequest, "This is the only way to sign in to this account; set a password first.", code: "disconnect_not_allowed")
        }
    }

    // MARK: credentials

    /// The provider of the URL, and the body's `client_id` if it names one (it must be ours).
    private static func client(_ context: HandlerContext, _ body: inout RequestBody) throws -> OpenIDClient {
        guard let client = context.service.socialProviders.client(context.parameters["provider"] ?? "") else {
            throw APIError.coded(.notFound, "Provider not configured.", code: "provider_not_configured")
        }
        if let clientID = body.string("client_id", required: false, maxLength: 512), clientID != client.provider.clientID {
            throw APIError.unauthorized("The client_id does not match the configured application.", code: "client_id_mismatch")
        }
        return client
    }

    /// `id_token` (optional `nonce`, and `access_token` for UserInfo when the id_token names no
    /// address) → a verified identity.
    private static func verifiedToken(_ request: Request, _ context: HandlerContext) throws -> (OpenIDClient, ProviderIdentity) {
        var body = try RequestBody(request)
        let client = try client(context, &body)
        let idToken = body.string("id_token", required: false, maxLength: OpenIDClient.maxTokenLength)
        let accessToken = body.string("access_token", required: false, maxLength: OpenIDClient.maxTokenLength)
        let nonce = body.string("nonce", required: false, maxLength: 512)
        try body.validate()
        guard let idToken else {
            if accessToken != nil {
                // An OpenID provider proves identity with the id_token; an access token alone proves nothing to us.
                throw APIError.coded(.badRequest, "This provider needs an id_token.", code: "flow_not_supported")
            }
            throw APIError.field("non_field_errors", "Either an id_token or an access_token is required.")
        }
        return (client, try providerCall(client, context) { () throws(OpenIDError) in
            try client.identity(idToken: idToken, accessToken: accessToken, nonce: nonce, now: context.now)
        })
    }

    /// `code`, `callback_url`, optional `code_verifier` (PKCE) and `nonce` → exchanged, verified identity.
    private static func exchangedCode(_ request: Request, _ context: HandlerContext) throws -> (OpenIDClient, ProviderIdentity) {
        var body = try RequestBody(request)
        let client = try client(context, &body)
        let code = body.string("code", maxLength: 2048)
        let callbackURL = body.string("callback_url", maxLength: 2048)
        // RFC 7636 §4.1: 43 to 128 characters.
        let verifier = body.string("code_verifier", required: false, maxLength: 128)
        let nonce = body.string("nonce", required: false, maxLength: 512)
        try body.validate()
        guard let code, let callbackURL else { throw APIError.badRequest("Invalid data.") }
        // Only the listed URLs: a code sent back to any other is a code someone else may hold.
        let allowed = context.config.social.callbackURLs
        if allowed.isEmpty {
            throw APIError.coded(.badRequest, "The code flow is off: the service's social.callback_urls lists no callback URL.",
                                 code: "callback_url_not_allowed")
        }
        if !allowed.contains(callbackURL) {
            throw APIError.coded(.badRequest, "The callback_url is not allowed.", code: "callback_url_not_allowed")
        }
        return (client, try providerCall(client, context) { () throws(OpenIDError) in
            try client.identity(code: code, callbackURL: callbackURL, codeVerifier: verifier, nonce: nonce, now: context.now)
        })
    }

    /// Maps provider trouble to HTTP: unreachable → 503, refused → 401. The operator's log gets
    /// the provider's side of it (never a secret, code or token); the user the generic answer.
    private static func providerCall<T>(_ client: OpenIDClient, _ context: HandlerContext, _ body: () throws(OpenIDError) -> T) throws -> T {
        let logger = context.service.logger
        do {
            return try body()
        } catch .unavailable(let reason) {
            logger.warning("identity provider unavailable", metadata: ["provider": "\(client.provider.id)", "reason": "\(reason)"])
            throw APIError.coded(.serviceUnavailable, "The identity provider cannot be reached; try again later.", code: "provider_unavailable")
        } catch .rejected {
            throw invalidSocialToken
        } catch .providerFault(let fault) {
            logger.log(level: fault.isTheClients ? .notice : .warning, "identity provider refused or garbled an exchange", metadata: [
                "provider": "\(client.provider.id)", "endpoint": "\(fault.endpoint)", "status": "\(fault.status)",
                "error": "\(fault.error ?? "-")", "problem": "\(fault.problem)",
            ])
            throw invalidSocialToken
        }
    }

    private static var invalidSocialToken: APIError {
        .unauthorized("The provider did not confirm this credential.", code: "invalid_social_token")
    }

    private static var replayedToken: APIError {
        .unauthorized("This id_token has already been used.", code: "invalid_social_token")
    }

    // MARK: answers

    private static func logIn(_ identity: ProviderIdentity, provider: String, _ request: Request, _ context: HandlerContext) throws -> Response {
        switch try context.flows.socialLogin.logIn(identity, provider: provider, device: context.device(request), now: context.now) {
        case .signedIn(let user, let outcome):
            // As after a password: later mails to this user speak this request's language.
            try context.users.setLanguage(userID: user.id, context.language)
            return try context.signInResponse(outcome)
        case .replayed:
            throw replayedToken
        case .emailAlreadyRegistered:
            throw APIError.coded(.conflict, "An account already uses this e-mail address; sign in and connect the provider.",
                                 code: "email_already_registered")
        case .localAccountUnverified:
            throw APIError.coded(.conflict, "An account with this e-mail address exists but has not confirmed it.", code: "local_account_unverified")
        case .providerEmailUnverified:
            throw APIError.coded(.badRequest, "The provider did not confirm an e-mail address.", code: "provider_email_unverified")
        case .signupClosed:
            throw APIError.coded(.forbidden, "Sign-up is closed.", code: "signup_closed")
        case .signupNotAllowed:
            throw APIError.coded(.badRequest, "Sign-up through this provider is not allowed.", code: "signup_not_allowed")
        case .inactive:
            throw APIError.unauthorized("No active account found with the given credentials", code: "no_active_account")
        case .emailNotVerified:
            throw APIError.unauthorized("User email is not verified", code: "email_not_verified")
        }
    }

    private static func connect(_ identity: ProviderIdentity, provider: String, to userID: Int64, _ context: HandlerContext) throws -> Response {
        switch try context.flows.socialLogin.connect(identity, provider: provider, to: userID, now: context.now) {
        case .connected(let record): return .json(representation(record), status: .created)
        case .inUseElsewhere:
            throw APIError.coded(.conflict, "This provider account is connected to another user.", code: "social_account_in_use")
        case .replayed:
            throw replayedToken
        }
    }

    private static func representation(_ record: SocialAccountRecord) -> JSON {
        .object([("id", .number(Double(record.id))), ("provider", .string(record.provider)), ("uid", .string(record.uid)),
                 ("last_login", .string(HTTPDate.iso8601(record.lastLogin))), ("date_joined", .string(HTTPDate.iso8601(record.dateJoined)))])
    }
}
