import AllauthDomain
import FastCGI

/// `POST logout/` (this device) and `POST logout-all/` (every device), through `LogOut`. Both clear the cookie.
enum LogoutHandler {
    static func logout(_ request: Request, _ context: HandlerContext) throws -> Response {
        try context.requireAllowedOrigin(request)
        let principal = try context.authenticate(request)
        guard let token = try context.presentedRefreshToken(request) else {
            if context.config.cookies.refreshAsCookie { throw APIError.badRequest("Refresh token cookie not found.") }
            throw APIError.field("refresh", "This field is required.")
        }
        switch try context.flows.logOut(principal, refreshToken: token, now: context.now) {
        case .invalidToken:
            throw APIError.badRequest("Invalid token.")
        case .loggedOut(let revoked):
            // A repeated logout finds nothing to delete and is a harmless 200.
            if revoked { context.metrics.count(.sessionsRevoked) }
            return clearing(.detail("Successfully logged out."), context)
        }
    }

    static func logoutAll(_ request: Request, _ context: HandlerContext) throws -> Response {
        try context.requireAllowedOrigin(request)
        let principal = try context.authenticate(request)
        context.metrics.count(.sessionsRevoked, try context.flows.logOut.everywhere(principal))
        return clearing(.detail("Successfully logged out from all devices."), context)
    }

    private static func clearing(_ response: Response, _ context: HandlerContext) -> Response {
        var response = response
        if context.config.cookies.refreshAsCookie { response.clearCookie(context.config.cookies.refresh) }
        return response
    }
}
