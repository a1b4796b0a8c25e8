import AllauthDomain
import FastCGI
import Foundation
import HTTPTypes

extension Response {
    /// An HTML page with the headers every page of ours carries. The CSP allows only the inline
    /// `<style>` and `<script>` that carry this response's `nonce`, and fetches to our own origin;
    /// pages are never framed (clickjacking a password form), never cached and never leak their
    /// URL in a Referer (a reset link carries a token until it is used).
    static func html(_ page: String, nonce: String, status: HTTPResponse.Status = .ok) -> Response {
        var fields = HTTPFields()
        fields[.contentType] = "text/html; charset=utf-8"
        fields[.contentSecurityPolicy] = "default-src 'none'; style-src 'nonce-\(nonce)'; script-src 'nonce-\(nonce)'; "
            + "connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
        fields[.xFrameOptions] = "DENY"
        fields[.referrerPolicy] = "no-referrer"
        fields[.cacheControl] = "no-store"
        fields[.xContentTypeOptions] = "nosniff"
        return Response(status: status, headerFields: fields, body: Array(page.utf8))
    }
}

extension HTTPField.Name {
    // Not among swift-http-types' registered names.
    static let xFrameOptions = Self("X-Frame-Options")!
    static let referrerPolicy = Self("Referrer-Policy")!
}

extension HandlerContext {
    /// Renders a built-in page for `request` and answers it as HTML: what every page route and
    /// the verification failure (400) answer with. `ignoringCapability`: a form page in its
    /// "link invalid" variant whatever cookie an earlier link left in the browser.
    func page(_ template: PageTemplate, for request: Request, status: HTTPResponse.Status = .ok,
              ignoringCapability: Bool = false, _ configure: (inout PageContext) -> Void = { _ in }) throws -> Response {
        let nonce = Self.makeNonce()
        var context = pageContext(template, for: request, nonce: nonce)
        if ignoringCapability { context.hasCapability = false }
        configure(&context)
        return .html(try service.templates.page(template, context, language: language), nonce: nonce, status: status)
    }

    /// The page's view of the configuration and of the request. The form pages only look at whether
    /// their capability cookie is present, to pick the variant; its POST endpoint checks it.
    func pageContext(_ template: PageTemplate, for request: Request, nonce: String) -> PageContext {
        let mount = config.server.mount
        var context = PageContext(
            siteName: config.templates.siteName, mount: mount, nonce: nonce, csrfCookieName: Self.csrfCookieName,
            passwordMinLength: config.accounts.passwordMinLength,
            passwordResetRequestURL: config.redirects.passwordResetRequest,
            signsOutEverywhere: config.accounts.logoutOnPasswordChange)
        let capability: Config.Cookie
        switch template {
        case .passwordResetForm:
            capability = config.cookies.passwordReset
            context.formAction = "\(mount)/password/reset/set-new/"
            context.completeURL = "\(mount)/password/reset/complete/"
        case .setPasswordForm:
            capability = config.cookies.passwordSet
            context.formAction = "\(mount)/registration/set-password/"
        case .socialDemo:
            // A provider that cannot be reached now is left off the page rather than failing it.
            context.socialProviders = config.social.providers.compactMap { provider in
                guard let client = service.socialProviders.client(provider.id),
                      let endpoint = try? client.discovery(now: now).authorizationEndpoint else { return nil }
                return SocialProviderLink(id: provider.id, name: provider.name, authorizationEndpoint: endpoint, clientID: provider.clientID,
                                          scope: provider.scopes.joined(separator: " "))
            }
            return context
        case .verified, .verificationFailed, .verificationSent, .passwordResetComplete, .confirmEmail:
            return context
        }
        context.hasCapability = request.cookies[capability.name].map { !$0.isEmpty && $0 != "\"\"" } ?? false
        return context
    }

    /// 128 random bits per response, so an injected `<script>` cannot guess the nonce.
    static func makeNonce() -> String {
        var generator = SystemRandomNumberGenerator()
        return Data((0..<16).map { _ in UInt8.random(in: .min ... .max, using: &generator) }).base64EncodedString()
    }
}
