import FastCGI

/// `GET jwks/`: the public keys that verify access tokens, by `kid` (empty for HS256).
enum JWKSHandler {
    static func get(_ request: Request, _ context: HandlerContext) throws -> Response {
        var response = Response.json(context.service.tokens.keys.jwks(at: context.now))
        // Verifiers may cache it; a rotated key appears within this time.
        response.headerFields[.cacheControl] = "public, max-age=300"
        return response
    }
}
