import AllauthCore
import FastCGI
import Foundation

/// `GET sessions/` and `DELETE sessions/<id>/`: the caller's own devices.
enum SessionsHandler {
    static func list(_ request: Request, _ context: HandlerContext) throws -> Response {
        let principal = try context.authenticate(request)
        let sessions = try context.whitelist.sessions(userID: principal.userID)
        return .json(.array(sessions.map { summary in
            var members: [(String, JSON)] = [
                ("id", .string(summary.session)),
                ("created", .string(HTTPDate.iso8601(summary.created))),
                ("last_rotated", .string(HTTPDate.iso8601(summary.lastRotated))),
                ("ip", summary.ip.map(JSON.string) ?? .null),
            ]
            let device = summary.device
            members += [
                ("browser", device.map { .string($0.browser) } ?? .null),
                ("browser_version", device.map { .string($0.browserVersion) } ?? .null),
                ("os", device.map { .string($0.os) } ?? .null),
                ("os_version", device.map { .string($0.osVersion) } ?? .null),
                ("device", device.map { .string($0.device) } ?? .null),
                ("is_mobile", device.map { .bool($0.isMobile) } ?? .null),
                ("is_tablet", device.map { .bool($0.isTablet) } ?? .null),
                ("is_pc", device.map { .bool($0.isPC) } ?? .null),
                ("is_bot", device.map { .bool($0.isBot) } ?? .null),
                ("current", .bool(summary.session == principal.session)),
            ]
            return .object(members)
        }))
    }

    static func delete(_ request: Request, _ context: HandlerContext) throws -> Response {
        let principal = try context.authenticate(request)
        let session = context.parameters["id"] ?? ""
        // Someone else's session id answers exactly like one that does not exist.
        guard try context.whitelist.revoke(session: session, ofUser: principal.userID) else { throw APIError.notFound }
        context.metrics.count(.sessionsRevoked)
        var response = Response.detail("Session revoked.")
        if session == principal.session && context.config.cookies.refreshAsCookie {
            response.clearCookie(context.config.cookies.refresh)
        }
        return response
    }
}
