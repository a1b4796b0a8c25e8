import FastCGI
import HTTPTypes

/// Cross-origin answers for the frontends of `cookies.allowed_origins`, the list the `Origin`
/// check of the cookie endpoints already uses (docs/deploying.md, "Frontends on other origins"):
/// a page on such an origin may call the API with `fetch(…, {credentials: "include"})`, its
/// preflight is answered with the route's methods and the request headers the API reads, and the
/// answer names that origin alone. A request from any other origin gets no `Access-Control-*`
/// header at all, so the browser withholds the answer from its page; the service's own origin
/// needs none.
enum CORS {
    /// The request headers a frontend sends: the access token, JSON or a form, the CSRF value of
    /// the capability endpoints, the language of the answer.
    static let allowedHeaders = "Authorization, Content-Type, X-CSRFToken, Accept-Language"
    /// What a page may read of an answer beyond the CORS-safelisted headers.
    static let exposedHeaders = "Retry-After, Content-Language"
    /// How long a browser may keep a preflight's answer (Chromium caps it at 2 hours).
    static let preflightMaxAge = "600"

    static func apply(_ request: Request, _ match: Router.Match, allowedOrigins: [String], to response: inout Response) {
        guard let origin = request.headerFields[.origin] else { return }
        // The answer depends on the Origin: a cache between must keep one per origin.
        response.headerFields.append(HTTPField(name: .vary, value: "Origin"))
        guard allowedOrigins.contains(origin) else { return }
        response.headerFields[.accessControlAllowOrigin] = origin
        response.headerFields[.accessControlAllowCredentials] = "true"
        guard request.method == .options, request.headerFields[.accessControlRequestMethod] != nil else {
            response.headerFields[.accessControlExposeHeaders] = exposedHeaders
            return
        }
        // A preflight: the route's methods (nothing for a path the service does not have).
        guard case .methodNotAllowed(let methods) = match else { return }
        response.headerFields[.accessControlAllowMethods] = (methods + [.options]).map(\.rawValue).joined(separator: ", ")
        response.headerFields[.accessControlAllowHeaders] = allowedHeaders
        response.headerFields[.accessControlMaxAge] = preflightMaxAge
    }
}
