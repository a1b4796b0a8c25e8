import AllauthCore
import Foundation

/// The tokens handed to a client for one session.
public struct IssuedSession: Sendable {
    public var access: String
    public var refresh: String
    public var entry: WhitelistEntry
}

/// Builds claims from a user row and mints the access/refresh pair: at login (a new session) and
/// at rotation (the successor of a whitelisted token).
public struct SessionIssuer: Sendable {
    let tokens: TokenService
    let settings: TokenSettings

    public init(tokens: TokenService, settings: TokenSettings) {
        self.tokens = tokens
        self.settings = settings
    }

    package var refreshLifetime: Int64 { Int64(settings.refreshLifetime) }
    package var sessionLifetime: Int64? { settings.sessionLifetime.map { Int64($0) } }

    func customClaims(_ user: UserRecord) -> [(String, JSON)] {
        settings.userAttributes.compactMap { attribute in
            user.claimValue(column: attribute.column).map { (attribute.claim, $0) }
        }
    }

    /// Opens a new session for `user`: a whitelist row and its tokens. Runs in the caller's transaction.
    public func open(for user: UserRecord, enabled: Bool = true, device: DeviceInfo, now: Int64, whitelist: Whitelist) throws -> IssuedSession {
        let deadline = sessionLifetime.map { now + $0 } ?? Int64.max
        let entry = WhitelistEntry(
            jti: TokenService.newIdentifier(), session: TokenService.newIdentifier(), userID: user.id, enabled: enabled,
            created: now, expires: min(now + refreshLifetime, deadline), sessionIat: now)
        try whitelist.insert(entry, device: device)
        return try tokens(for: user, entry: entry, now: now)
    }

    /// Mints the refresh token that `entry` whitelists, and a fresh access token beside it.
    /// Claims (role, email_verified, custom attributes) come from the user row as it is now.
    public func tokens(for user: UserRecord, entry: WhitelistEntry, now: Int64) throws -> IssuedSession {
        let deadline = sessionLifetime.map { entry.sessionIat + $0 } ?? Int64.max
        let refreshClaims = TokenClaims(
            tokenType: .refresh, exp: entry.expires, iat: entry.created, jti: entry.jti, userID: String(user.id),
            session: entry.session, sessionIat: entry.sessionIat, role: user.role, emailVerified: user.emailVerified,
            custom: customClaims(user))
        var accessClaims = refreshClaims
        accessClaims.tokenType = .access
        accessClaims.jti = TokenService.newIdentifier()
        accessClaims.iat = now
        accessClaims.exp = min(now + Int64(settings.accessLifetime), deadline)
        return IssuedSession(access: try tokens.mint(accessClaims), refresh: try tokens.mint(refreshClaims), entry: entry)
    }
}
