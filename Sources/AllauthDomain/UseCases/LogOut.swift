import AllauthRuntime
import AllauthStore

/// `logout/` and `logout-all/`: the principal closes one of its sessions, named by a refresh token,
/// or all of them. The handler decodes and renders (and clears the cookie).
package struct LogOut {
    let db: any SQLConnection
    let tokens: TokenService

    package enum Outcome: Equatable {
        /// The session is closed; `revoked` is false when there was nothing left to close (a repeated
        /// logout is a harmless success).
        case loggedOut(revoked: Bool)
        /// Not a refresh token of the principal's (bad signature, wrong type, someone else's).
        case invalidToken
    }

    /// Closes the session `refreshToken` belongs to. An expired refresh token still names it.
    package func callAsFunction(_ principal: Principal, refreshToken: String, now: Int64) throws -> Outcome {
        let claims: TokenClaims
        switch tokens.verify(refreshToken, expecting: .refresh, now: now) {
        case .success(let verified), .failure(.expired(let verified?)):
            claims = verified
        default:
            return .invalidToken
        }
        guard constantTimeEquals(Array(claims.userID.utf8), Array(String(principal.userID).utf8)) else { return .invalidToken }
        return .loggedOut(revoked: try Whitelist(db).revoke(session: claims.session, ofUser: principal.userID))
    }

    /// Closes every session of the principal's account; answers how many there were.
    package func everywhere(_ principal: Principal) throws -> Int {
        try Whitelist(db).revoke(userID: principal.userID)
    }
}
