import AllauthDomain
import FastCGI
import HTTPTypes

/// `POST refresh/`: rotates a whitelisted refresh token (see `Whitelist.rotate`).
enum RefreshHandler {
    static func post(_ request: Request, _ context: HandlerContext) throws -> Response {
        let config = context.config
        try context.requireAllowedOrigin(request)
        guard let token = try context.presentedRefreshToken(request) else {
            throw APIError.field("refresh", "This field is required.")
        }
        let presented: TokenClaims
        switch context.service.tokens.verify(token, expecting: .refresh, now: context.now) {
        case .success(let claims):
            presented = claims
        case .failure(.expired(let claims?)):
            // A token whose expiry is the session deadline expired because the session did.
            if let lifetime = config.tokens.sessionLifetime, claims.sessionIat >= 0, claims.exp >= claims.sessionIat + Int64(lifetime) {
                context.metrics.count(.sessionsRevoked, try context.whitelist.revoke(session: claims.session))
                throw sessionExpired
            }
            throw APIError.tokenNotValid(TokenError.expired(nil).message)
        case .failure(.noUserIdentification):
            throw APIError.tokenNotValid()
        case .failure(let error):
            throw APIError.tokenNotValid(error.message)
        }

        let outcome = try context.whitelist.rotate(
            presented: presented, now: context.now,
            refreshLifetime: context.service.issuer.refreshLifetime,
            sessionLifetime: context.service.issuer.sessionLifetime,
            grace: Int64(config.tokens.rotationGrace),
            newJTI: TokenService.newIdentifier(),
            device: context.device(request))
        switch outcome {
        case .rotated(let user, let successor):
            context.metrics.count(.rotations)
            return context.sessionResponse(try context.service.issuer.tokens(for: user, entry: successor, now: context.now))
        case .replayed:
            context.record(.replayDetected(session: presented.session, userID: presented.userID), request)
            context.metrics.count(.sessionsRevoked)
            throw APIError.tokenNotValid()
        case .sessionClosed, .inactive, .disabled(emailVerified: true):
            throw APIError.tokenNotValid()
        case .disabled(emailVerified: false):
            throw APIError.unauthorized("User email is not verified", code: "email_not_verified")
        case .sessionExpired:
            throw sessionExpired
        }
    }

    static let sessionExpired = APIError.unauthorized("Session reached its maximum lifetime. Please log in again", code: "session_expired")
}
