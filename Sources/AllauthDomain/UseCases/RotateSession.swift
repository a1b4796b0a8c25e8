import AllauthStore

/// `refresh/`: a presented refresh token for its successor, with reuse detection (`Whitelist.rotate`)
/// and the session's absolute deadline. The handler decodes the token out of the request and turns
/// the outcome into HTTP; every rule of a rotation is here.
package struct RotateSession {
    let db: any SQLConnection
    let tokens: TokenService
    let issuer: SessionIssuer
    /// `tokens.rotation_grace`: how long a just-rotated token may still be presented (a client's
    /// lost answer) before its reuse counts as a replay.
    let rotationGrace: Int64

    package enum Outcome {
        /// The successor's pair.
        case rotated(IssuedSession)
        /// A rotated-away or revoked token presented again: the whole session is revoked.
        case replayed(session: String, userID: String)
        /// Past the session's absolute lifetime; the session has been revoked (`revoked` rows).
        case sessionExpired(revoked: Int)
        /// The account's address is unconfirmed under mandatory verification.
        case emailNotVerified
        /// Not a usable refresh token (bad signature, wrong type, expired, closed session, inactive
        /// account); `message` says which when the token itself is at fault.
        case invalid(message: String?)
    }

    package func callAsFunction(_ token: String, device: DeviceInfo, now: Int64) throws -> Outcome {
        let presented: TokenClaims
        switch tokens.verify(token, expecting: .refresh, now: now) {
        case .success(let claims):
            presented = claims
        case .failure(.expired(let claims?)):
            // A token whose expiry is the session deadline expired because the session did.
            if let lifetime = issuer.sessionLifetime, claims.sessionIat >= 0, claims.exp >= claims.sessionIat + lifetime {
                return .sessionExpired(revoked: try Whitelist(db).revoke(session: claims.session))
            }
            return .invalid(message: TokenError.expired(nil).message)
        case .failure(.noUserIdentification):
            return .invalid(message: nil)
        case .failure(let error):
            return .invalid(message: error.message)
        }
        let outcome = try Whitelist(db).rotate(
            presented: presented, now: now,
            refreshLifetime: issuer.refreshLifetime,
            sessionLifetime: issuer.sessionLifetime,
            grace: rotationGrace,
            newJTI: TokenService.newIdentifier(),
            device: device)
        switch outcome {
        case .rotated(let user, let successor):
            return .rotated(try issuer.tokens(for: user, entry: successor, now: now))
        case .replayed:
            return .replayed(session: presented.session, userID: presented.userID)
        case .sessionClosed, .inactive, .disabled(emailVerified: true):
            return .invalid(message: nil)
        case .disabled(emailVerified: false):
            return .emailNotVerified
        case .sessionExpired:
            return .sessionExpired(revoked: 0)
        }
    }
}
