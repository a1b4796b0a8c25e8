import FastCGI
import HTTPTypes

/// `GET verify/` for nginx `auth_request`: 200 with the caller's claims as headers for a valid
/// access token, 401 with the usual JSON error otherwise.
enum VerifyHandler {
    static let userID = HTTPField.Name("X-Auth-User-Id")!
    static let role = HTTPField.Name("X-Auth-Role")!
    static let session = HTTPField.Name("X-Auth-Session")!
    static let emailVerified = HTTPField.Name("X-Auth-Email-Verified")!

    static func get(_ request: Request, _ context: HandlerContext) throws -> Response {
        let identity: AccessIdentity
        do {
            identity = try context.authenticate(request)
        } catch let error as APIError {
            // The JSON explains the 401 to a client calling verify/ directly; nginx's
            // auth_request reads only the status and the headers and discards the body.
            return error.response
        }
        // Built in one go (the subscript setter searches for an existing field each time).
        return Response(status: .ok, headerFields: [
            userID: identity.claims.userID,
            role: String(identity.claims.role),
            session: identity.claims.session,
            emailVerified: identity.claims.emailVerified ? "true" : "false",
            .cacheControl: "no-store",
        ])
    }
}
