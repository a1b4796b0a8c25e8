import AllauthDomain
import FastCGI
import HTTPTypes

/// `POST refresh/`: decodes the presented refresh token, runs `RotateSession` and renders its outcome.
enum RefreshHandler {
    static func post(_ request: Request, _ context: HandlerContext) throws -> Response {
        try context.requireAllowedOrigin(request)
        guard let token = try context.presentedRefreshToken(request) else {
            throw APIError.field("refresh", "This field is required.")
        }
        switch try context.flows.rotateSession(token, device: context.device(request), now: context.now) {
        case .rotated(let session):
            context.metrics.count(.rotations)
            return context.sessionResponse(session)
        case .replayed(let session, let userID):
            context.record(.replayDetected(session: session, userID: userID), request)
            context.metrics.count(.sessionsRevoked)
            throw APIError.tokenNotValid()
        case .sessionExpired(let revoked):
            context.metrics.count(.sessionsRevoked, revoked)
            throw sessionExpired
        case .emailNotVerified:
            throw APIError.unauthorized("User email is not verified", code: "email_not_verified")
        case .invalid(let message?):
            throw APIError.tokenNotValid(message)
        case .invalid(nil):
            throw APIError.tokenNotValid()
        }
    }

    static let sessionExpired = APIError.unauthorized("Session reached its maximum lifetime. Please log in again", code: "session_expired")
}
