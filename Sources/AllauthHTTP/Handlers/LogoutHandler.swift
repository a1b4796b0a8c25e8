import AllauthDomain
import FastCGI

/// `POST logout/` (this device) and `POST logout-all/` (every device). Both clear the cookie.
enum LogoutHandler {
    static func logout(_ request: Request, _ context: HandlerContext) throws -> Response {
        try context.requireAllowedOrigin(request)
        let principal = try context.authenticate(request)
        guard let token = try context.presentedRefreshToken(request) else {
            if context.config.cookies.refreshAsCookie { throw APIError.badRequest("Refresh token cookie not found.") }
            throw APIError.field("refresh", "This field is required.")
        }
        // An expired refresh token still names the session to close.
        let claims: TokenClaims
        switch context.service.tokens.verify(token, expecting: .refresh, now: context.now) {
        case .success(let verified), .failure(.expired(let verified?)):
            claims = verified
        default:
            throw APIError.badRequest("Invalid token.")
        }
        guard constantTimeEquals(Array(claims.userID.utf8), Array(String(principal.userID).utf8)) else {
            throw APIError.badRequest("Invalid token.")
        }
        // A repeated logout finds nothing to delete and is a harmless 200.
        if try context.whitelist.revoke(session: claims.session, ofUser: principal.userID) { context.metrics.count(.sessionsRevoked) }
        return clearing(.detail("Successfully logged out."), context)
    }

    static func logoutAll(_ request: Request, _ context: HandlerContext) throws -> Response {
        try context.requireAllowedOrigin(request)
        let principal = try context.authenticate(request)
        context.metrics.count(.sessionsRevoked, try context.whitelist.revoke(userID: principal.userID))
        return clearing(.detail("Successfully logged out from all devices."), context)
    }

    private static func clearing(_ response: Response, _ context: HandlerContext) -> Response {
        var response = response
        if context.config.cookies.refreshAsCookie { response.clearCookie(context.config.cookies.refresh) }
        return response
    }
}
