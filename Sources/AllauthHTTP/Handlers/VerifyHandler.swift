import AllauthCore
import AllauthDomain
import FastCGI
import HTTPTypes

/// `GET verify/` for nginx `auth_request`: 200 with the caller's claims as headers for a valid
/// access token, 401 with the usual JSON error otherwise.
enum VerifyHandler {
    static let userID = HTTPField.Name("X-Auth-User-Id")!
    static let role = HTTPField.Name("X-Auth-Role")!
    static let session = HTTPField.Name("X-Auth-Session")!
    static let emailVerified = HTTPField.Name("X-Auth-Email-Verified")!
    /// How long nginx's `verify.cache` may keep this 200; nginx reads it and never passes it on.
    static let accelExpires = HTTPField.Name("X-Accel-Expires")!

    static func get(_ request: Request, _ context: HandlerContext) throws -> Response {
        let identity: AccessIdentity
        do {
            identity = try context.verifyAccessToken(request)
        } catch let error as APIError {
            // The JSON explains the 401 to a client calling verify/ directly; nginx's
            // auth_request reads only the status and the headers and discards the body.
            return error.response
        }
        var fields = answers.fields(for: identity.claims)
        if context.config.verify.cache > 0 {
            // nginx keeps the 200 for verify.cache, but never past the token's expiry: whole
            // seconds left, rounded down (nginx counts from its own second, never later than
            // ours); 0 keeps nothing.
            let left = max(0, min(Int64(context.config.verify.cache), identity.claims.exp - context.now - 1))
            fields[accelExpires] = String(left)
        }
        return Response(status: .ok, headerFields: fields)
    }

    /// The header fields of the 200, made once per session and claims: every field made anew
    /// (each value checked, each appended) was 7% of a verify/ request (bench/callgrind.sh).
    /// A memo of a pure function of the claims, so one for the process serves every `Service`.
    static let answers = AnswerFields()

    final class AnswerFields: Sendable {
        private struct Key: Hashable {
            var userID: String
            var role: Int
            var session: String
            var emailVerified: Bool
        }

        private let fields = BoundedMemo<Key, HTTPFields>(limit: 4096)

        func fields(for claims: TokenClaims) -> HTTPFields {
            let key = Key(userID: claims.userID, role: claims.role, session: claims.session, emailVerified: claims.emailVerified)
            if let made = fields[key] { return made }
            let made: HTTPFields = [
                userID: claims.userID,
                role: String(claims.role),
                session: claims.session,
                emailVerified: claims.emailVerified ? "true" : "false",
                .cacheControl: "no-store",
            ]
            fields.remember(made, for: key)
            return made
        }
    }
}
