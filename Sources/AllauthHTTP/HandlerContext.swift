import AllauthCore
import AllauthDomain
import AllauthRuntime
import AllauthStore
import FastCGI
import Foundation
import HTTPTypes

/// The caller identified by a valid access token.
struct AccessIdentity {
    var claims: TokenClaims
    var userID: Int64
}

/// Everything a handler may use for one request: the service, this thread's database connection
/// and the request time.
struct HandlerContext {
    let service: Service
    let db: any SQLConnection
    let now: Int64
    let parameters: [String: String]
    /// The request's language (negotiated from `Accept-Language`): pages render in it, and it is
    /// stored as the user's at sign-up and login, for the mails sent later.
    var language = "en"

    var config: Config { service.config }
    var whitelist: Whitelist { Whitelist(db) }
    var users: UserStore { UserStore(db) }
    var throttle: Throttle { Throttle(db, settings: config.throttle) }
    var metrics: MetricsRecorder { service.metrics }

    /// Logs a security event for this request's client (and counts it).
    func record(_ event: SecurityEvent, _ request: Request) { service.record(event, request) }

    /// The client's device fields, only when collection is on. The address is nginx's `REMOTE_ADDR`
    /// (after realip), never a header the client could forge.
    func device(_ request: Request) -> DeviceInfo {
        guard config.accounts.collectUserAgent else { return .none }
        return DeviceInfo(ip: request.remoteAddress.isEmpty ? nil : request.remoteAddress,
                          userAgent: UserAgentInfo.parse(request.headerFields[.userAgent]))
    }

    // MARK: Bearer authentication

    enum BearerError: Error { case absent, malformed }

    /// The raw token of an `Authorization: Bearer …` header: space-separated words, empty ones
    /// skipped. Scans the bytes in place (memchr finds the end of the ~500-byte token): this runs
    /// on every authenticated request, and a generic `split` of it was 15% of a verify/ request
    /// (bench/callgrind.sh).
    static func bearerToken(_ request: Request) throws(BearerError) -> String {
        guard var header = request.authorization else { throw .absent }
        let token = header.withUTF8 { bytes -> Result<Range<Int>, BearerError> in
            // The next word at or after `from`: its range, nil past the last one.
            func word(from: Int) -> Range<Int>? {
                var start = from
                while start < bytes.count && bytes[start] == 0x20 { start += 1 }
                guard start < bytes.count else { return nil }
                let base = UnsafeRawPointer(bytes.baseAddress!)
                let end = memchr(base + start, 0x20, bytes.count - start).map { UnsafeRawPointer($0) - base } ?? bytes.count
                return start..<end
            }
            guard let scheme = word(from: 0), UnsafeBufferPointer(rebasing: bytes[scheme]).elementsEqual(Self.bearer) else {
                return .failure(.absent)
            }
            guard let token = word(from: scheme.upperBound), word(from: token.upperBound) == nil else { return .failure(.malformed) }
            return .success(token)
        }
        let range = try token.get()
        let utf8 = header.utf8
        // A slice of the header at ASCII boundaries: copied, not validated again as UTF-8.
        return String(Substring(utf8[utf8.index(utf8.startIndex, offsetBy: range.lowerBound)..<utf8.index(utf8.startIndex, offsetBy: range.upperBound)]))
    }

    private static let bearer = Array("Bearer".utf8)

    /// The caller of an endpoint that acts for a user: a valid access token (and, with the session
    /// check on, a live session) whose account row exists and is active. Rights come from that row.
    func authenticate(_ request: Request) throws -> Principal {
        let identity = try verifyAccessToken(request)
        switch try Principal.authenticated(userID: identity.userID, session: identity.claims.session, users: users) {
        case .success(let principal): return principal
        case .failure(.noAccount): throw APIError.unauthorized("User not found", code: "user_not_found")
        case .failure(.inactive): throw APIError.unauthorized("User is inactive", code: "user_inactive")
        }
    }

    /// Checks the access token alone, statelessly unless the session check is on: for `verify/`,
    /// which answers nginx's `auth_request` from the token's claims and acts for nobody. Endpoints
    /// that act for a user call `authenticate`.
    func verifyAccessToken(_ request: Request) throws -> AccessIdentity {
        let token: String
        do {
            token = try Self.bearerToken(request)
        } catch .absent {
            throw APIError.notProvided
        } catch {
            throw APIError.unauthorized("Authorization header must contain two space-delimited values", code: "bad_authorization_header")
        }
        let claims: TokenClaims
        switch service.tokens.verify(token, expecting: .access, now: now) {
        case .success(let verified):
            claims = verified
        case .failure(.noUserIdentification):
            throw APIError.tokenNotValid(TokenError.noUserIdentification.message)
        case .failure(let error):
            throw APIError.unauthorized(
                "Given token not valid for any token type", code: "token_not_valid",
                extra: [("messages", .array([.object([("token_class", "AccessToken"), ("token_type", "access"), ("message", .string(error.message))])]))])
        }
        guard let userID = Int64(claims.userID) else { throw APIError.tokenNotValid(TokenError.noUserIdentification.message) }
        if config.tokens.accessTokenSessionCheck, try !whitelist.isLive(session: claims.session) {
            throw APIError.tokenNotValid("Session is no longer active.")
        }
        return AccessIdentity(claims: claims, userID: userID)
    }

    // MARK: cross-site requests

    /// Call first in every endpoint that sets or clears the refresh cookie (login, refresh,
    /// logout, and social login, MFA verify, set-password as they arrive): a browser sends
    /// `Origin` on every cross-site POST, so a form on another site can neither log the victim
    /// into the attacker's account (login CSRF) nor rotate or clear the victim's cookie.
    /// Defence in depth beside SameSite. Requests without `Origin` (native apps) pass; in body
    /// mode there is no ambient cookie to abuse, so nothing is checked.
    func requireAllowedOrigin(_ request: Request) throws {
        guard config.cookies.refreshAsCookie else { return }
        try requireAllowedOriginIfSent(request)
    }

    /// An `Origin` header, when the client sent one, names this service or an allowed origin.
    func requireAllowedOriginIfSent(_ request: Request) throws {
        guard let origin = request.headerFields[.origin] else { return }
        let normalised = origin.hasSuffix("/") ? String(origin.dropLast()) : origin
        if normalised == config.server.publicURL || config.cookies.allowedOrigins.contains(normalised) { return }
        throw APIError.forbidden("Origin \(origin) is not allowed.", code: "origin_not_allowed")
    }

    // MARK: session answers

    /// The answer that hands a session to the client: `{access}` plus the refresh cookie, or
    /// `{access, refresh}` in body mode. Without `includeAccess` only the refresh token travels
    /// (a sign-up session that stays disabled until the address is confirmed).
    func sessionResponse(_ issued: IssuedSession, includeAccess: Bool = true, extra: [(String, JSON)] = [],
                         status: HTTPResponse.Status = .ok) -> Response {
        var members: [(String, JSON)] = includeAccess ? [("access", .string(issued.access))] : []
        if !config.cookies.refreshAsCookie { members.append(("refresh", .string(issued.refresh))) }
        var response = Response.json(.object(members + extra), status: status)
        if config.cookies.refreshAsCookie { response.setCookie(config.cookies.refresh, value: issued.refresh) }
        return response
    }

    /// The refresh token a request presents: the cookie in cookie mode, the body's `refresh` otherwise.
    func presentedRefreshToken(_ request: Request) throws -> String? {
        if config.cookies.refreshAsCookie {
            return request.cookies[config.cookies.refresh.name].flatMap { $0.isEmpty || $0 == "\"\"" ? nil : $0 }
        }
        var body = try RequestBody(request)
        let token = body.string("refresh")
        try body.validate()
        return token
    }
}
