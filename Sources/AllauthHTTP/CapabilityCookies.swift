import AllauthDomain
import AllauthRuntime
import FastCGI
import HTTPTypes

/// The capability cookies of the reset and invitation links (`password_reset_access_token`,
/// `set_password_access_token`) and the double-submit CSRF cookie that travels with them
/// (as in django-jwt-allauth). The capability endpoints are cookie-authenticated, so a cross-site form
/// must not be able to use them: the `csrftoken` cookie's value has to come back in `X-CSRFToken`,
/// which only a page that can read our cookies can do.
extension HandlerContext {
    static let csrfCookieName = "csrftoken"
    static let csrfHeader = HTTPField.Name("X-CSRFToken")!

    /// The CSRF cookie: readable by the page's script (not HttpOnly), Secure like the capability
    /// cookie it accompanies, a year long as Django's.
    static func csrfCookie(beside capability: Config.Cookie) -> Config.Cookie {
        Config.Cookie(name: csrfCookieName, httpOnly: false, secure: capability.secure, sameSite: "Lax",
                      maxAge: 31_449_600, path: "/", domain: capability.domain)
    }

    /// 302 to `location`, setting the capability cookie and the CSRF cookie (an existing
    /// well-formed CSRF value is kept, so another open tab's form keeps working).
    func capabilityRedirect(_ request: Request, to location: String, cookie: Config.Cookie, capability: String) -> Response {
        var response = Response.redirect(to: location)
        response.setCookie(cookie, value: capability)
        let existing = request.cookies[Self.csrfCookieName].flatMap { Self.isWellFormedCSRF($0) ? $0 : nil }
        response.setCookie(Self.csrfCookie(beside: cookie), value: existing ?? Self.newCSRFValue())
        return response
    }

    /// The capability a request presents, after the CSRF check. No cookie → 401 (nothing to
    /// spend); CSRF missing or wrong → 403, and the capability is not touched.
    func presentedCapability(_ request: Request, cookie: Config.Cookie) throws -> String {
        guard let capability = request.cookies[cookie.name], !capability.isEmpty, capability != "\"\"" else {
            throw APIError.unauthorized("Authentication credentials were not provided.", code: nil, challenge: "Cookie")
        }
        try requireCSRF(request, presented: request.headerFields[Self.csrfHeader])
        return capability
    }

    /// A page with a plain HTML form that posts back to us (no script needed): the answer sets the
    /// CSRF cookie (a well-formed existing value is kept) and the template gets its value as
    /// `csrf_token`, for the form's hidden `csrfmiddlewaretoken` field.
    func formPage(_ template: PageTemplate, for request: Request, _ configure: (inout PageContext) -> Void) throws -> Response {
        let csrf = request.cookies[Self.csrfCookieName].flatMap { Self.isWellFormedCSRF($0) ? $0 : nil } ?? Self.newCSRFValue()
        var response = try page(template, for: request) { page in
            page.csrfToken = csrf
            page.referrerPolicy = "same-origin"
            configure(&page)
        }
        response.setCookie(Self.csrfCookie(beside: config.cookies.passwordSet), value: csrf)
        // Under `no-referrer` a browser sends `Origin: null` with the form's POST, which the
        // Origin check must refuse; `same-origin` still sends nothing to any other site.
        response.headerFields[.referrerPolicy] = "same-origin"
        return response
    }

    /// The POST of a `formPage` form: its `csrfmiddlewaretoken` field (or an `X-CSRFToken` header)
    /// equals the CSRF cookie, and the `Origin`, when the browser sends one, is ours or allowed.
    /// A form on another site can set neither. 403 otherwise; nothing is done.
    func requireSameSiteForm(_ request: Request) throws {
        try requireAllowedOriginIfSent(request)
        var body = try RequestBody(request)
        let field = body.string("csrfmiddlewaretoken", required: false, maxLength: 64)
        try requireCSRF(request, presented: field ?? request.headerFields[Self.csrfHeader])
    }

    /// The double submit: `presented` (a header or a form field) equals the CSRF cookie. 403 otherwise.
    private func requireCSRF(_ request: Request, presented: String?) throws {
        guard let expected = request.cookies[Self.csrfCookieName], !expected.isEmpty else {
            throw APIError.forbidden("CSRF Failed: CSRF cookie not set.", code: "csrf_failed")
        }
        guard let presented, !presented.isEmpty else {
            throw APIError.forbidden("CSRF Failed: CSRF token missing.", code: "csrf_failed")
        }
        guard constantTimeEquals(Array(presented.utf8), Array(expected.utf8)) else {
            throw APIError.forbidden("CSRF Failed: CSRF token incorrect.", code: "csrf_failed")
        }
    }

    /// 401 for a capability that is spent, superseded, expired or unknown, or whose account is inactive.
    static let capabilityNotValid = APIError.unauthorized("Token is invalid or expired", code: "token_not_valid", challenge: "Cookie")

    private static let csrfAlphabet = Array("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789".utf8)

    /// 32 random alphanumerics, Django's CSRF secret shape.
    static func newCSRFValue() -> String {
        var generator = SystemRandomNumberGenerator()
        return String(decoding: (0..<32).map { _ in csrfAlphabet[Int(generator.next(upperBound: UInt64(csrfAlphabet.count)))] }, as: UTF8.self)
    }

    static func isWellFormedCSRF(_ value: String) -> Bool {
        value.utf8.count == 32 && value.utf8.allSatisfy { csrfAlphabet.contains($0) }
    }
}

extension Response {
    /// `302 Found` to `location` (a path or an absolute URL), never cached: it may carry cookies.
    static func redirect(to location: String) -> Response {
        var fields = HTTPFields()
        fields[.location] = location
        fields[.cacheControl] = "no-store"
        return Response(status: .found, headerFields: fields)
    }
}
